"""The evaluation suites, by name; each loads a dataset, runs, and returns records + metrics."""

from __future__ import annotations

from evals.suites.base import Progress, Record, RunOptions, Suite, SuiteResult
from evals.suites.headlines import Headline


def get_suite(name: str) -> Suite:
    """Suites import their heavy dependencies (models, presidio, the pipeline) lazily."""
    if name == "titles":
        from evals.suites.titles import TitlesSuite

        return TitlesSuite()
    if name == "pii":
        from evals.suites.pii import PIISuite

        return PIISuite()
    if name == "injection":
        from evals.suites.injection import InjectionSuite

        return InjectionSuite()
    if name == "e2e":
        from evals.suites.e2e import E2ESuite

        return E2ESuite()
    if name == "skills":
        from evals.suites.skills import SkillsSuite

        return SkillsSuite()
    if name == "over-redaction":
        from evals.suites.over_redaction import OverRedactionSuite

        return OverRedactionSuite()
    raise ValueError(f"unknown suite {name!r}; one of {', '.join(SUITES)}")


SUITES = ("titles", "skills", "pii", "injection", "e2e", "over-redaction")

__all__ = [
    "SUITES",
    "Headline",
    "Progress",
    "Record",
    "RunOptions",
    "Suite",
    "SuiteResult",
    "get_suite",
]
