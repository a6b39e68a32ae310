"""The LLM title agent: a small tool-using graph that must choose among shown candidates."""
