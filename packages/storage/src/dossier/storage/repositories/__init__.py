"""Repositories: rows in, frozen core records out (one module per record kind)."""
