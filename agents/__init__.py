"""LangGraph graphs, their state, the inbox worker (and later the review policy)."""
