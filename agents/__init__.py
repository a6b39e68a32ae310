"""The agents layer: one package per LangGraph graph, the composition root, and what runs them.

- ``provisioning/``: the graph run per HRIS event (``graph.py`` wiring, ``state.py``,
  ``nodes.py`` and ``review_nodes.py``), from the scrubbed view to the LMS and the audit trail.
- ``title_agent/``: the LLM title agent (``graph.py``, ``state.py``, ``nodes.py``,
  ``tools.py``) and ``runner.py``, the mapper that runs it.
- ``policy/``: the review policy: the plan a run proposes and the rules that hold it.
- ``services.py``: the composition root, `Services`, built once from `Settings`.
- ``runtime/``: workers, the checkpointer's users, replay, erasure and retention.

Layers inside (import-linter, pyproject.toml): runtime > provisioning > services >
title_agent | policy | checkpointer.
"""
