"""The README's account of the demo stays true to what the demo does: its numbers, the
titles it quotes and the threshold it names come from the demo's own code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import yaml

from agents.policy.rules import DEMO_POLICY
from api import demo
from api.cli import running
from tools.hris.simulator.free_text import FREE_TEXT_TITLES, INJECTION_TITLE

README = Path(__file__).resolve().parents[2] / "README.md"
NUMBERS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _demo_paragraph() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("**What the demo shows.**")
    return " ".join(text[start : text.index("\n\n", start)].split())


def test_the_quoted_titles_are_ones_the_demo_can_draw() -> None:
    quoted = re.findall(r'"([^"]+)"', _demo_paragraph())
    pool = {title for titles in FREE_TEXT_TITLES.values() for title in titles}
    assert INJECTION_TITLE in quoted
    examples = [q for q in quoted if q != INJECTION_TITLE]
    assert examples
    assert set(examples) <= pool, set(examples) - pool


def test_the_counts_and_threshold_are_the_demos() -> None:
    paragraph = _demo_paragraph()
    employees = inspect.signature(running.demo).parameters["employees"].default
    assert f"({employees} people" in paragraph
    words = re.search(r"; (\w+) carry free-text titles", paragraph)
    assert words is not None and NUMBERS[words.group(1)] == demo.FREE_TEXT_TITLES
    policy = yaml.safe_load(DEMO_POLICY.read_text(encoding="utf-8"))
    threshold = next(r["threshold"] for r in policy["rules"] if r["id"] == "ai-low-confidence")
    assert f"confidence of at least {threshold}" in paragraph


def test_no_claim_about_how_many_wait() -> None:
    """How many AI choices are applied depends on the run: the README must not say."""
    paragraph = _demo_paragraph().lower()
    assert "most ai choices" not in paragraph
    assert "varies from run to run" in paragraph
