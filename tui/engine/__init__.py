"""The engine: media -> audio -> speech recognition -> speaker labels -> Script.

Knows nothing of HTTP or Textual (an import-linter contract keeps it so).
"""
