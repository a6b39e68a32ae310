"""Prompt files: headers are checked, placeholders must be declared and given, and the ref
names the exact text."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompts.loader import PromptError, available_prompts, load_prompt, parse_prompt

GOOD = """---
id: greet
version: 2
purpose: say hello
inputs: [name]
---
## system
You greet people.

## user
Hello $name, {not a placeholder} and 100% literal.
"""


def write(directory: Path, text: str, name: str = "greet", version: int = 2) -> None:
    (directory / name).mkdir(parents=True, exist_ok=True)
    (directory / name / f"v{version}.md").write_text(text, encoding="utf-8")


def test_the_bundled_title_prompt_loads_and_renders() -> None:
    prompt = load_prompt("title_mapping@1")
    assert "title_mapping@1" in available_prompts()
    assert (
        prompt.ref.startswith("title_mapping@1#")
        and len(prompt.ref) == len("title_mapping@1#") + 12
    )
    user = prompt.render("user", title="RN {night}", department="-", candidates="a | b | 0.5")
    assert "Job title: RN {night}" in user


def test_braces_and_percent_signs_in_text_are_not_formatting(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    rendered = load_prompt("greet@2", tmp_path).render("user", name="Zoë")
    assert rendered.strip() == "Hello Zoë, {not a placeholder} and 100% literal."


def test_the_ref_changes_when_the_text_changes(tmp_path: Path) -> None:
    first = parse_prompt(GOOD, origin="a")
    second = parse_prompt(GOOD.replace("You greet", "You welcome"), origin="b")
    assert first.ref != second.ref and first.ref.split("#")[0] == second.ref.split("#")[0]


def test_rendering_needs_exactly_the_placeholders_used(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    prompt = load_prompt("greet@2", tmp_path)
    with pytest.raises(PromptError, match=r"missing \['name'\]"):
        prompt.render("user")
    with pytest.raises(PromptError, match=r"unexpected \['extra'\]"):
        prompt.render("user", name="x", extra="y")
    with pytest.raises(PromptError, match="no section 'retry'"):
        prompt.render("retry")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (GOOD.replace("inputs: [name]\n", ""), "header lacks inputs"),
        (GOOD.replace("inputs: [name]", "inputs: []"), r"not declared in inputs: \['name'\]"),
        (GOOD.replace("## system", "# system").replace("## user", "# user"), "no '## section'"),
        ("no header", "must start with a '---' header"),
        (GOOD.replace("version: 2", "version: 3"), "header says greet@3"),
    ],
)
def test_broken_prompt_files_are_refused_with_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    write(tmp_path, text)
    load_prompt.cache_clear()
    with pytest.raises(PromptError, match=reason):
        load_prompt("greet@2", tmp_path)


def test_bad_references_are_refused() -> None:
    with pytest.raises(PromptError, match="not of the form id@version"):
        load_prompt("title_mapping")
    with pytest.raises(PromptError, match="no file"):
        load_prompt("title_mapping@99")
