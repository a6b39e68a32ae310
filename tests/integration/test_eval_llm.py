"""`eval run titles --mapper llm` reports the model's own answers: a failed example is a miss
(never the embedded shortlist's top-1), failures are counted by kind, calls and tokens of
failed calls are kept, a timeout fails one example and not the run, the service's LLM
settings are honoured, and a run past the failure share exits non-zero, named, yet stored."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage
from typer.testing import CliRunner, Result

from api.cli import app
from core.settings import get_settings
from evals.runner import run_suite
from evals.scripted_chat_models import ScriptedChatModel, choice
from evals.suites import RunOptions
from tests.doubles.openai_server import ScriptedOpenAIServer, text

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
TITLES = REPO / "evals" / "datasets" / "titles" / "jobbert.sample.csv"
ESCO = REPO / "evals" / "datasets" / "titles" / "esco_occupations.sample.csv"
LIMIT = 12
_TITLE = re.compile(r"^Job title: (.*)$", re.MULTILINE)
_FIRST_SHOWN = re.compile(r"^(esco-[0-9a-f-]+) \| ", re.MULTILINE)


def _model(fail: dict[str, str]) -> ScriptedChatModel:
    """Looks once (one tool round, tokens counted), then answers the first shortlisted role,
    unless the title is one to fail: a timeout, or an answer no schema accepts."""

    def reply(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
        first = messages[0].text if len(messages) == 1 else messages[1].text
        title = _TITLE.search(first)
        shown = _FIRST_SHOWN.search(first)
        assert title and shown
        if tools != ["RoleChoice"]:
            usage = {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110}
            return AIMessage(content="Looking at the shortlist.", usage_metadata=usage)
        how = fail.get(title.group(1).strip())
        if how == "timeout":
            raise openai.APITimeoutError(httpx2.Request("POST", "http://llm/v1/chat/completions"))
        if how == "garbage":
            return AIMessage(content="I think it is the nurse one")
        return choice(shown.group(1), 0.9)

    return ScriptedChatModel(default=reply)


@pytest.fixture
def one_tool_round(cli_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    cli_env.setenv("TALENTSYNC_LLM_MAX_TOOL_ROUNDS", "1")
    get_settings.cache_clear()
    return cli_env


def test_a_failed_example_is_a_miss_counted_by_kind(
    tmp_path: Path, one_tool_round: pytest.MonkeyPatch
) -> None:
    ranked = run_suite(
        "titles", RunOptions(dataset=TITLES, catalog=ESCO, limit=LIMIT), out=tmp_path / "emb"
    )
    # titles whose right role the model was shown: the old run credited the shortlist
    shown = {r["title"]: r["rank"] for r in ranked.records if 1 <= r["rank"] <= 5}
    assert len(shown) >= 2, "the sample needs two titles with the right role shortlisted"
    right = list(shown)
    fail = {right[0]: "timeout", right[1]: "garbage"}

    run = run_suite(
        "titles",
        RunOptions(
            dataset=TITLES, catalog=ESCO, mapper="llm", limit=LIMIT, chat_model=_model(fail)
        ),
        out=tmp_path / "llm",
    )

    by_title = {r["title"]: r for r in run.records}
    timed_out, garbled = by_title[right[0]], by_title[right[1]]
    for failed in (timed_out, garbled):  # the right role was shortlisted: no credit for it
        assert failed["predicted"] is None and failed["top1"] == 0 and failed["rr"] == 0.0
        assert failed["shortlist_rank"] == shown[failed["title"]]  # kept apart, as a ceiling
    assert (timed_out["failure"], garbled["failure"]) == ("timeout", "unparseable")
    assert timed_out["calls"] == 2 and timed_out["failed_calls"] == 1
    assert timed_out["input_tokens"] == 100  # the look before the timeout is not dropped
    assert run.summary["counts"]["failed_timeout"] == 1
    assert run.summary["counts"]["failed_unparseable"] == 1
    assert run.summary["extra"]["failures"] == {"timeout": 1, "unparseable": 1}
    metrics = run.summary["metrics"]
    answered_right = sum(r["top1"] for r in ranked.records if r["title"] not in fail)
    assert metrics["top1"] == pytest.approx(answered_right / LIMIT)  # first shown, if answered
    assert metrics["mrr"] == pytest.approx(metrics["top1"])  # one answer, no ranking to credit
    assert metrics["failure_share"] == pytest.approx(2 / LIMIT)
    assert metrics["model_calls"] == sum(r["calls"] for r in run.records) >= 2 * LIMIT
    assert metrics["failed_calls"] == 1
    assert metrics["input_tokens"] == 100 * LIMIT + 100 * (LIMIT - 2)  # looks + answers


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as running:
        yield running


def _cli_run(server: ScriptedOpenAIServer, cli_env: pytest.MonkeyPatch, out: Path) -> Result:
    for name, value in {
        "TALENTSYNC_LLM_BASE_URL": server.base_url,
        "TALENTSYNC_LLM_MAX_TOOL_ROUNDS": "0",
        "TALENTSYNC_LLM_STRUCTURED_OUTPUT": "json_schema",
        "TALENTSYNC_LLM_SYSTEM_PROMPT": "system",
        "TALENTSYNC_LLM_MAX_RETRIES": "0",
        "TALENTSYNC_LLM_MAX_OUTPUT_TOKENS": "64",
    }.items():
        cli_env.setenv(name, value)
    get_settings.cache_clear()
    args = ["eval", "run", "titles", "--dataset", str(TITLES), "--catalog", str(ESCO)]
    return CliRunner().invoke(app, [*args, "--mapper", "llm", "--limit", "3", "--out", str(out)])


def test_eval_honours_the_services_llm_settings(
    tmp_path: Path, cli_env: pytest.MonkeyPatch, server: ScriptedOpenAIServer
) -> None:
    abstain = text(json.dumps({"role_id": None, "confidence": 0.2, "rationale": "none fits"}))
    server.script([abstain] * 3)

    result = _cli_run(server, cli_env, tmp_path / "run")

    assert result.exit_code == 0, result.output
    assert len(server.chat_requests) == 3  # no tool round: the answer is asked at once
    for request in server.chat_requests:
        assert request["response_format"]["type"] == "json_schema"
        assert request["max_tokens"] == 64


def test_a_run_past_the_failure_share_exits_non_zero_named_and_stored(
    tmp_path: Path, cli_env: pytest.MonkeyPatch, server: ScriptedOpenAIServer
) -> None:
    server.script([])  # every request answered 500: the server cannot do the method

    result = _cli_run(server, cli_env, tmp_path / "run")

    assert result.exit_code == 1
    assert "100% of examples failed (unsupported_method 3)" in " ".join(result.output.split())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["metrics"]["failure_share"] == 1.0
    # each method refused once (json_schema, function_calling, json_mode), then not asked
    assert summary["metrics"]["model_calls"] == 3
