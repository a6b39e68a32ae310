"""Evaluation suites: metrics and reports over small datasets in evals/datasets/."""
