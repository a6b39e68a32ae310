"""The interfaces: the FastAPI app (one router per resource) and the `talentsync` CLI."""
