"""Folder watch on watchfiles (issue 5)."""
