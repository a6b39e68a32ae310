"""Where the shared reference data lives: ``../shared/data`` next to the repository.

Those files (JobBERT titles, ESCO, the Skill-Extraction benchmark) have no licence for
redistribution, so they are read from this path and never packaged; the suites' small
committed samples are in evals/datasets instead.
"""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
