"""The title agent against a real model on an OpenAI-compatible server (`make test-llm`).

Runs when ``TALENTSYNC_TEST_LLM_BASE_URL`` is set; every other LLM setting comes from the
environment as the service reads it (``make test-llm`` sets them for llama.cpp's server with
Gemma 3 270M). ``TALENTSYNC_TEST_LLM_MIN_RIGHT`` (default 3 of 5) is how many answers must
land on the expected role.

The five titles are deliberately easy: each nearly equals its role's label, and that role
heads the embedded shortlist. Gemma 270M is a small base model; what this test proves is that
every part of the path works against a real server (the output cap, the structured-output
failover, the system prompt reaching the model, answers parsed and matched to the shown
candidates), not that a 270M model maps titles well.
"""

from __future__ import annotations

import os

import pytest

from agents.title_agent.runner import LLMTitleMapper
from core.settings import Settings
from pii.guard import get_guard
from pii.identity import RecordIdentity
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.role_directory import RoleDirectory

BASE_URL = os.environ.get("TALENTSYNC_TEST_LLM_BASE_URL")
pytestmark = pytest.mark.skipif(not BASE_URL, reason="TALENTSYNC_TEST_LLM_BASE_URL is not set")

TITLES = {
    "Registered Nurse": "role-29-1141",
    "Data Scientist": "role-15-2051",
    "Graphic Designer": "role-27-1024",
    "Sales Engineer": "role-41-9031",
    "Medical Assistant": "role-31-9092",
}
MIN_RIGHT = int(os.environ.get("TALENTSYNC_TEST_LLM_MIN_RIGHT", "3"))


@pytest.mark.timeout(900)
def test_a_real_model_answers_are_parsed_and_mostly_right(
    role_directory: RoleDirectory, embedded_mapper: EmbeddedTitleMapper
) -> None:
    settings = Settings(llm_base_url=BASE_URL)  # the rest from TALENTSYNC_LLM_* as deployed
    mapper = LLMTitleMapper.from_settings(
        settings,
        directory=role_directory,
        embedded=embedded_mapper,
        memory=None,
        firewall=get_guard().firewall,
    )
    right = 0
    for title, expected in TITLES.items():
        shortlist = [c.role_id for c in embedded_mapper.candidates(title)[0]]
        assert shortlist[0] == expected, f"{title!r}: the easy case this test relies on"

        got = mapper.suggest(title, department=None, identity=RecordIdentity())

        read = {
            k: got.provenance[k] for k in ("matched_by", "confidence_note") if k in got.provenance
        }
        print(
            f"{title!r}: {got.role_id} confidence {got.confidence:.2f} flags {got.flags} "
            f"failure {got.provenance.get('failure')} usage {got.provenance['usage']} {read} "
            f"rationale {got.rationale[:80]!r}"
        )
        parsed = got.provenance.get("failure") in (None, "off_candidate")
        assert parsed, f"{title!r}: no parsed answer ({got.provenance.get('failure')})"
        assert got.role_id is None or got.role_id in set(got.provenance["shown"])
        assert got.provenance["usage"]["calls"] >= 1 and got.provenance["usage"]["input_tokens"] > 0
        right += got.role_id == expected
    print(
        f"{right}/{len(TITLES)} on the expected role with {settings.llm_model}; structured "
        f"output {mapper.structured_method} (refused: {mapper.structured.refused}); system "
        f"prompt: {mapper.system_prompt.evidence}"
    )
    assert right >= MIN_RIGHT
