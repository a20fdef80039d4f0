"""The backend service of shared/API.md (issue 3)."""
