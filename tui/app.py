"""The Textual app (issue 4)."""
