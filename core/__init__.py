"""Domain core: settings, canonical HR models, tables, the durable inbox.

Nothing here imports FastAPI or LangGraph, so every other layer can depend on it.
"""
