"""Domain core: settings, the canonical HR records and the LMS catalog, job-title text, and
the service's own tables with the logic that guards them: the durable inbox, review
checkpoints, the hash-chained audit trail, the PII vault and API keys (``core.db`` opens the
database, ``core.schema`` creates the tables).

Nothing here imports FastAPI or LangGraph (retention and erasure, which delete LangGraph
checkpoints, live in ``agents.runtime``), so every other layer can depend on it.
"""
