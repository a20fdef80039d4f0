"""The backend service of docs/api.md (issue 3)."""
