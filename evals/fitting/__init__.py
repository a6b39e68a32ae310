"""Fitting and one-off analysis scripts, run by hand (``python -m evals.fitting.<name>``).

They fit the constants the product ships (``titles``, ``skills``: ranker weights, rerankers,
calibrations) or print a study the suites do not (``injection``, ``pii``). The gate and
``talentsync eval run`` never run them: each suite has one runner, in evals/suites. What a
script shares with its suite (reading the data, scoring) lives in a public evals module
(`evals.title_examples`, `evals.skill_examples`, `evals.injection_attacks`,
`evals.pii_spans`).
"""
