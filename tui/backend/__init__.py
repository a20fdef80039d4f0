"""The backend service of docs/api.md: the API, its store, jobs, workers and exports."""
