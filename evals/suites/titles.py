"""Title -> role: JobBERT vacancy titles against ESCO occupations (or the LMS catalog).

Two mappers: ``embedded`` (the offline TitleRanker, the product default) and ``llm`` (the
product's TitleMapping with the LLM title agent, which needs a chat model: ``--model`` against
TALENTSYNC_LLM_BASE_URL, or one injected by code).

Cold vs warm: ``--memory FILE`` (JobBERT format) is the customer's approved history. When it
is the dataset file itself, a seeded half becomes memory and the other half the queries, so
no query is ever its own approved answer; another file is used whole.

ESCO concept URIs are not valid LMS group ids, so for the ``llm`` mapper each occupation gets
the id ``esco-<uuid>`` (a catalog the agent and its tools can hold); records keep the URIs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.catalog import Catalog, CatalogGroup, GroupKind, load_catalog
from evals.metrics import (
    abstention_precision_recall,
    coverage_at_precision,
    estimated_cost,
    expected_calibration_error,
    latency_percentiles,
    mrr,
    recall_at_k,
    top1,
)
from evals.suites.base import Progress, Record, RunOptions, SuiteResult, finite, sample
from evals.suites.headlines import Headline, coverage_headline, mean_of
from evals.title_examples import Example, label_vectors, load_examples
from tools.mapping.role_directory import RoleDirectory
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole, load_esco_occupations

if TYPE_CHECKING:
    from tools.mapping.suggestion import RoleSuggestion

log = logging.getLogger(__name__)

TARGET_PRECISION = 0.8
K = 10
BATCH = 64


def load_roles(path: Path) -> list[CatalogRole]:
    """An ESCO occupations CSV or an LMS catalog YAML (its ``role`` groups)."""
    if path.suffix.lower() == ".csv":
        return load_esco_occupations(path)
    return RoleDirectory(load_catalog(path)).roles


def _split(
    examples: list[Example], options: RunOptions
) -> tuple[list[tuple[int, Example]], list[Example]]:
    """(indexed queries, memory). Indices are row numbers in the dataset: example ids."""
    indexed = list(enumerate(examples))
    memory: list[Example] = []
    if options.memory is not None:
        if options.memory.resolve() == options.dataset.resolve():
            shuffled = sample(indexed, None, options.seed)
            half = len(shuffled) // 2
            memory = [e for _, e in shuffled[:half]]
            indexed = sorted(shuffled[half:], key=lambda pair: pair[0])
        else:
            memory = load_examples(options.memory)
    return sample(indexed, options.limit, options.seed), memory


def _lms_id(uri: str) -> str:
    return "esco-" + uri.rstrip("/").rsplit("/", 1)[-1].lower()


class TitlesSuite:
    name = "titles"
    headlines: tuple[Headline, ...] = (
        mean_of("top1", "top1"),
        mean_of("recall@5", "recall5"),
        mean_of("mrr", "rr"),
        coverage_headline("coverage@p0.8", TARGET_PRECISION),
    )

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult:
        if options.catalog is None:
            raise ValueError("the titles suite needs --catalog (ESCO CSV or LMS catalog YAML)")
        roles = load_roles(options.catalog)
        known = {r.role_id for r in roles}
        queries, memory = _split(load_examples(options.dataset), options)
        embedder = default_embedder()
        is_esco = options.catalog.suffix.lower() == ".csv"
        if options.mapper == "llm":
            roles = (
                [
                    CatalogRole(_lms_id(r.role_id), r.label, r.alt_labels, r.description, r.group)
                    for r in roles
                ]
                if is_esco
                else roles
            )
        vectors = label_vectors(roles, embedder)  # cached by catalog content and model
        ranker = TitleRanker(roles, embedder, label_vectors=vectors)
        to_internal = _lms_id if options.mapper == "llm" and is_esco else (lambda s: s)
        if memory:
            ranker.remember((e.title, to_internal(e.role_id)) for e in memory)
        _fit_adapter(ranker, options.adapter)
        log.info(
            "titles: %d queries, %d roles, %d approved in memory",
            len(queries),
            len(roles),
            ranker.memory_size,
        )
        counts = {"examples": len(queries), "roles": len(roles), "memory": ranker.memory_size}
        extra: dict[str, Any] = {
            "setting": "warm" if memory else "cold",
            "adapter": options.adapter,
        }
        if options.mapper == "llm":
            records, model_name, prompt_ref, overhead = self._run_llm(
                ranker, roles, queries, options, progress, to_internal
            )
            found = llm_metrics(records, model_name, overhead)
            failures = failures_by_kind(records)
            counts |= {f"failed_{kind}": n for kind, n in failures.items()}
            counts |= {"failed": sum(failures.values()), "probe_calls": overhead.get("calls", 0)}
            extra["failures"] = failures
        elif options.mapper == "embedded":
            records = self._run_embedded(ranker, queries, known, progress)
            model_name, prompt_ref = None, None
            found = metrics(records, None)
        else:
            raise ValueError(f"unknown mapper {options.mapper!r} (embedded or llm)")
        return SuiteResult(
            records=records,
            metrics=found,
            counts=counts,
            prompt=prompt_ref,
            model=model_name,
            extra=extra,
        )

    def _run_embedded(
        self,
        ranker: TitleRanker,
        queries: Sequence[tuple[int, Example]],
        known: set[str],
        progress: Progress,
    ) -> list[Record]:
        records: list[Record] = []
        for start in range(0, len(queries), BATCH):
            chunk = queries[start : start + BATCH]
            began = time.perf_counter()
            results = ranker.rank_many([e.title for _, e in chunk], k=K)
            per_example_ms = (time.perf_counter() - began) * 1000 / max(len(chunk), 1)
            for (index, example), result in zip(chunk, results, strict=True):
                ids = [c.role_id for c in result.candidates]
                records.append(
                    _record(
                        index,
                        example,
                        ranked=ids,
                        predicted=ids[0] if ids else None,
                        confidence=result.confidence,
                        abstained=result.abstained,
                        latency_ms=per_example_ms,
                        known=known,
                    )
                )
            progress(len(records), len(queries))
        return records

    def _run_llm(
        self,
        ranker: TitleRanker,
        roles: Sequence[CatalogRole],
        queries: Sequence[tuple[int, Example]],
        options: RunOptions,
        progress: Progress,
        to_internal: Any,
    ) -> tuple[list[Record], str, str, dict[str, int]]:
        """Each example scored on the model's OWN answer: a failed or refused call is a miss
        (never the shortlist the model was shown), counted by kind, with the calls and tokens
        it spent. A timeout fails its example, not the run."""
        from agents.title_agent.runner import LLMTitleMapper
        from core.settings import get_settings
        from pii.guard import get_guard
        from pii.identity import RecordIdentity
        from tools.mapping.embedded import EmbeddedTitleMapper
        from tools.mapping.errors import LLMUnavailableError
        from tools.mapping.title_mapping import TitleMapping

        catalog = Catalog(
            version="eval",
            groups=[
                CatalogGroup(
                    id=r.role_id,
                    display_name=f"Role: {r.label}",
                    kind=GroupKind.role,
                    description=r.description,
                    alt_labels=list(r.alt_labels),
                )
                for r in roles
            ],
        )
        directory = RoleDirectory(catalog)
        embedded = EmbeddedTitleMapper(directory, ranker)
        # the service's own settings (structured output, tool rounds, output cap, system
        # prompt placement): an eval under other settings would measure another product
        update: dict[str, Any] = {"llm_prompt": options.prompt}
        if options.model:
            update["llm_model"] = options.model
        mapper = LLMTitleMapper.from_settings(
            get_settings().model_copy(update=update),
            directory=directory,
            embedded=embedded,
            memory=None,
            firewall=get_guard().firewall,
            model=options.chat_model,
        )
        mapping = TitleMapping(mapper=mapper, directory=directory, memory=None, reasoning=None)
        back = {to_internal(r.role_id): r.role_id for r in load_roles(options.catalog or Path())}
        known = set(back.values())
        model_name = options.model or str(
            getattr(mapper.model, "model_name", None) or type(mapper.model).__name__
        )
        records: list[Record] = []
        for index, example in queries:
            began = time.perf_counter()
            try:
                suggestion: RoleSuggestion | None = mapping.suggest(
                    example.title, department=None, identity=RecordIdentity()
                )
                assert suggestion is not None
                failure = suggestion.provenance.get("failure")
                usage = suggestion.provenance.get("usage", {})
                candidates = suggestion.candidates
            except LLMUnavailableError as error:
                log.warning("titles: example %d failed: %s (%s)", index, error, error.kind)
                suggestion, failure, usage = None, error.kind, error.usage
                candidates = embedded.candidates(example.title)[0]
            latency = (time.perf_counter() - began) * 1000
            answer = suggestion if failure is None else None
            chosen = back.get(answer.role_id or "", answer.role_id) if answer else None
            shown = [back.get(c.role_id, c.role_id) for c in candidates]
            record = _record(
                index,
                example,
                ranked=[chosen] if chosen else [],
                predicted=chosen,
                confidence=answer.confidence if answer else 0.0,
                abstained=answer is not None and chosen is None,
                latency_ms=latency,
                known=known,
            )
            record.update(
                calls=int(usage.get("calls", 0)),
                failed_calls=int(usage.get("failed_calls", 0)),
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                failure=failure,
                failed=int(failure is not None),
                shortlist_rank=shown.index(example.role_id) + 1 if example.role_id in shown else 0,
                flags=list(suggestion.flags) if suggestion is not None else [],
                answer_read=_answer_read(suggestion),
            )
            records.append(record)
            progress(len(records), len(queries))
        return records, model_name, mapper.prompt.ref, dict(mapper.system_prompt.probe_usage)


def _answer_read(suggestion: RoleSuggestion | None) -> dict[str, Any]:
    """How a loosely written answer was read (matched id, percentage confidence), if it was."""
    if suggestion is None:
        return {}
    return {
        key: suggestion.provenance[key]
        for key in ("matched_by", "confidence_note")
        if key in suggestion.provenance
    }


def _record(
    index: int,
    example: Example,
    *,
    ranked: list[str],
    predicted: str | None,
    confidence: float,
    abstained: bool,
    latency_ms: float,
    known: set[str],
) -> Record:
    rank = ranked.index(example.role_id) + 1 if example.role_id in ranked else 0
    return {
        "id": str(index),
        "title": example.title,
        "gold": example.role_id,
        "predicted": predicted,
        "rank": rank,
        "top1": int(rank == 1),
        "recall5": int(1 <= rank <= 5),
        "rr": 1.0 / rank if rank else 0.0,
        "correct": bool(predicted is not None and predicted == example.role_id),
        "confidence": float(confidence),
        "abstained": bool(abstained),
        "should_abstain": example.role_id not in known,
        "latency_ms": latency_ms,
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }


def metrics(
    records: Sequence[Record], model: str | None, overhead: dict[str, int] | None = None
) -> dict[str, float | None]:
    """``overhead``: calls and tokens spent outside any example (an endpoint probe)."""
    overhead = overhead or {}
    ranks = [int(r["rank"]) for r in records]
    conf = [float(r["confidence"]) for r in records]
    correct = [bool(r["correct"]) for r in records]
    p50, p95 = latency_percentiles([float(r["latency_ms"]) for r in records])
    a_precision, a_recall = abstention_precision_recall(
        [bool(r["abstained"]) for r in records], [bool(r["should_abstain"]) for r in records]
    )
    tokens_in = sum(int(r["input_tokens"]) for r in records) + overhead.get("input_tokens", 0)
    tokens_out = sum(int(r["output_tokens"]) for r in records) + overhead.get("output_tokens", 0)
    cost = estimated_cost(model, tokens_in, tokens_out)
    return {
        "top1": finite(top1(ranks)),
        "recall@5": finite(recall_at_k(ranks, 5)),
        "recall@10": finite(recall_at_k(ranks, 10)),
        "mrr": finite(mrr(ranks)),
        "coverage@p0.8": finite(coverage_at_precision(conf, correct, TARGET_PRECISION)),
        "ece": finite(expected_calibration_error(conf, correct)),
        "abstention_precision": finite(a_precision),
        "abstention_recall": finite(a_recall),
        "latency_p50_ms": finite(p50),
        "latency_p95_ms": finite(p95),
        "model_calls": float(sum(int(r["calls"]) for r in records) + overhead.get("calls", 0)),
        "input_tokens": float(tokens_in),
        "output_tokens": float(tokens_out),
        "cost_usd": cost,
    }


def failures_by_kind(records: Sequence[Record]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for record in records:
        if record.get("failure"):
            kinds[str(record["failure"])] = kinds.get(str(record["failure"]), 0) + 1
    return dict(sorted(kinds.items()))


def llm_metrics(
    records: Sequence[Record], model: str | None, overhead: dict[str, int]
) -> dict[str, float | None]:
    """The ranking metrics of the model's own answers (one answer: top-1 = MRR = recall@k),
    how many examples got an answer at all, and every call and token it took, failed calls
    and the one-off system-prompt probe included. ``shortlist_recall`` is the ceiling:
    how often the right role was among those shown to the model."""
    found = metrics(records, model, overhead)
    n = len(records)
    failed = sum(int(r["failed"]) for r in records)
    shortlist = [int(r["shortlist_rank"]) for r in records]
    found |= {
        "answered": finite(1 - failed / n) if n else None,
        "failure_share": finite(failed / n) if n else None,
        "failed_calls": float(sum(int(r["failed_calls"]) for r in records)),
        "shortlist_recall": finite(recall_at_k(shortlist, K)),  # the 8 shown: all of them
    }
    return found


def _fit_adapter(ranker: TitleRanker, adapter: str) -> None:
    """Fit the adapter in-process, as ``titles fit-adapter`` does for the service, so the
    product's adapted profiles are what gets scored (~20 s for the 441-role gate catalog)."""
    if adapter == "none":
        return
    if adapter == "catalog":
        ranker.fit_catalog_adapter()
    elif adapter == "memory":
        ranker.fit_adapter()  # refuses an empty memory
    else:
        raise ValueError(f"unknown adapter {adapter!r} (none, catalog or memory)")
