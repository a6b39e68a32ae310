"""Skill understanding: free-text skills -> taxonomy concepts (ESCO by default), or abstain."""

from tools.skills.normalise import clean_mention, normalise_mention
from tools.skills.normaliser import SkillCandidate, SkillMatch, SkillNormaliser
from tools.skills.profiles import (
    ALONE_PROFILE,
    CONTEXT_PROFILE,
    Calibration,
    NormaliserWeights,
    Profile,
)
from tools.skills.taxonomy import SkillConcept, build_taxonomy, load_taxonomy

__all__ = [
    "ALONE_PROFILE",
    "CONTEXT_PROFILE",
    "Calibration",
    "NormaliserWeights",
    "Profile",
    "SkillCandidate",
    "SkillConcept",
    "SkillMatch",
    "SkillNormaliser",
    "build_taxonomy",
    "clean_mention",
    "load_taxonomy",
    "normalise_mention",
]
