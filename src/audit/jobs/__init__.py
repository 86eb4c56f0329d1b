"""Background jobs: imports, large checks and detection runs off the request path."""
