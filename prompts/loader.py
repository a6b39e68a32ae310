"""Prompt files: one per version, with a small header, rendered by name.

Why files and not strings in code: a prompt change is a behaviour change that reviewers,
the eval gate and the audit trail must see as such. Each rendered prompt is known by
``id@version#contenthash``, so an audit entry names the exact text a model was given and a
silently edited file cannot pass for the version it claims to be.

Placeholders are ``string.Template`` style (``$title``): HR free text is full of braces and
percent signs, which must never be read as formatting.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

import yaml

PROMPTS_DIR = Path(__file__).parent
_REF = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)@(?P<version>\d+)$")
_SECTION = re.compile(r"^## (?P<name>[a-z_]+)\s*$", re.MULTILINE)
_REQUIRED_HEADER = ("id", "version", "purpose", "inputs")


class PromptError(ValueError):
    """A prompt file or a render request is wrong; the message names the file and field."""


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    purpose: str
    inputs: tuple[str, ...]
    sections: dict[str, str]
    content_hash: str

    @property
    def ref(self) -> str:
        """What provenance records: the id, the version and a hash of the whole file."""
        return f"{self.id}@{self.version}#{self.content_hash[:12]}"

    def render(self, section: str, **values: Any) -> str:
        """Fill one section; every placeholder it uses must be given, nothing else may be."""
        if section not in self.sections:
            raise PromptError(f"{self.ref}: no section {section!r}")
        template = Template(self.sections[section])
        wanted = set(template.get_identifiers())
        missing = sorted(wanted - values.keys())
        unexpected = sorted(values.keys() - wanted)
        if missing or unexpected:
            raise PromptError(
                f"{self.ref} [{section}]: missing {missing or '-'}, unexpected {unexpected or '-'}"
            )
        return template.substitute({k: str(v) for k, v in values.items()})


def parse_prompt(text: str, *, origin: str) -> Prompt:
    if not text.startswith("---\n"):
        raise PromptError(f"{origin}: must start with a '---' header")
    try:
        _, header_text, body = text.split("---\n", 2)
        header = yaml.safe_load(header_text) or {}
    except (ValueError, yaml.YAMLError) as error:
        raise PromptError(f"{origin}: unreadable header: {error}") from error
    if not isinstance(header, dict):
        raise PromptError(f"{origin}: header must be a mapping")
    absent = [key for key in _REQUIRED_HEADER if key not in header]
    if absent:
        raise PromptError(f"{origin}: header lacks {', '.join(absent)}")
    inputs = tuple(str(i) for i in header["inputs"] or ())
    sections = _sections(body, origin=origin)
    for name, section in sections.items():
        undeclared = set(Template(section).get_identifiers()) - set(inputs)
        if undeclared:
            raise PromptError(
                f"{origin} [{name}]: placeholders not declared in inputs: {sorted(undeclared)}"
            )
    return Prompt(
        id=str(header["id"]),
        version=int(header["version"]),
        purpose=str(header["purpose"]).strip(),
        inputs=inputs,
        sections=sections,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _sections(body: str, *, origin: str) -> dict[str, str]:
    marks = list(_SECTION.finditer(body))
    if not marks:
        raise PromptError(f"{origin}: no '## section' found")
    sections: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(body)
        sections[mark.group("name")] = body[mark.end() : end].strip() + "\n"
    return sections


@cache
def load_prompt(ref: str, directory: Path = PROMPTS_DIR) -> Prompt:
    """``title_mapping@1`` -> ``prompts/title_mapping/v1.md``, checked against its header."""
    match = _REF.match(ref)
    if match is None:
        raise PromptError(f"prompt reference {ref!r} is not of the form id@version")
    path = directory / match["id"] / f"v{match['version']}.md"
    if not path.is_file():
        raise PromptError(f"prompt {ref}: no file {path}")
    prompt = parse_prompt(path.read_text(encoding="utf-8"), origin=str(path))
    if prompt.id != match["id"] or prompt.version != int(match["version"]):
        raise PromptError(f"{path}: header says {prompt.id}@{prompt.version}, file is {ref}")
    return prompt


def available_prompts(directory: Path = PROMPTS_DIR) -> list[str]:
    return sorted(
        f"{path.parent.name}@{path.stem.removeprefix('v')}" for path in directory.glob("*/v*.md")
    )
