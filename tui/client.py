"""The API client of shared/API.md: httpx + httpx-sse (issue 3/4)."""
