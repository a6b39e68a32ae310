"""What the agents call: the integrations and scorers one provisioning run works through.

- ``tools.hris``: webhook sources (Standard Webhooks, BambooHR, Merge), the intake that
  checks and stores a delivery, record fetchers for sources that only say who changed, and
  the seeded demo stream simulator.
- ``tools.lms``: the SCIM 2.0 connector to the LMS (auth, retries, catalog groups) and the
  bundled LMS sandbox.
- ``tools.mapping``: which catalog groups a worker belongs in: the ``Mapper`` protocol and
  the deterministic catalog rules; title mapping (injection tripwire, approved memory, then
  the embedded ranker or any ``TitleMapper``, such as the LLM agent the agents layer hands
  in); skill mapping.
- ``tools.titles``: job titles against the role catalog: the hybrid ranker, its reranker,
  shipped profiles (fitted numbers in JSON) and the learned title adapter.
- ``tools.skills``: free-text skills against a skill taxonomy (ESCO by default), or abstain.
- ``tools.notify``: review notifications to a chat webhook.

Tools sit above vectorstore, pii, prompts and core and below agents (the import-linter
layers contract in pyproject.toml): they never import the graphs that call them.
"""
