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

import csv
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
from evals.suites.base import (
    Headline,
    Progress,
    Record,
    RunOptions,
    SuiteResult,
    coverage_headline,
    finite,
    mean_of,
    sample,
)
from evals.titles import Example, label_vectors, load_examples
from tools.mapping.role_directory import RoleDirectory
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole, load_esco_occupations

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

TARGET_PRECISION = 0.8
K = 10
BATCH = 64


def load_roles(path: Path) -> list[CatalogRole]:
    """An ESCO occupations CSV or an LMS catalog YAML (its ``role`` groups)."""
    if path.suffix.lower() == ".csv":
        return load_esco_occupations(path)
    return RoleDirectory(load_catalog(path)).roles


def read_memory(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Example(r["vacancyTitle"].strip(), r["conceptUri"]) for r in csv.DictReader(handle)]


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
            memory = read_memory(options.memory)
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
        if options.mapper == "llm":
            records, model_name, prompt_ref = self._run_llm(
                ranker, roles, queries, options, progress, to_internal
            )
        elif options.mapper == "embedded":
            records = self._run_embedded(ranker, queries, known, progress)
            model_name, prompt_ref = None, None
        else:
            raise ValueError(f"unknown mapper {options.mapper!r} (embedded or llm)")
        return SuiteResult(
            records=records,
            metrics=metrics(records, model_name),
            counts={
                "examples": len(records),
                "roles": len(roles),
                "memory": ranker.memory_size,
            },
            prompt=prompt_ref,
            model=model_name,
            extra={"setting": "warm" if memory else "cold", "adapter": options.adapter},
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
    ) -> tuple[list[Record], str, str]:
        from prompts.loader import load_prompt
        from tools.mapping.embedded import EmbeddedTitleMapper
        from tools.mapping.llm import LLMTitleMapper
        from tools.mapping.title_mapping import TitleMapping
        from tools.pii.guard import get_guard
        from tools.pii.identity import RecordIdentity

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
        model = options.chat_model or _model_from_settings(options.model)
        prompt = load_prompt(options.prompt)
        mapper = LLMTitleMapper(
            model=model,
            directory=directory,
            embedded=embedded,
            memory=None,
            firewall=get_guard().firewall,
            prompt=prompt,
        )
        mapping = TitleMapping(mapper=mapper, directory=directory, memory=None, reasoning=None)
        back = {to_internal(r.role_id): r.role_id for r in load_roles(options.catalog or Path())}
        known = set(back.values())
        model_name = options.model or str(
            getattr(model, "model_name", None) or type(model).__name__
        )
        records: list[Record] = []
        for index, example in queries:
            began = time.perf_counter()
            suggestion = mapping.suggest(example.title, department=None, identity=RecordIdentity())
            latency = (time.perf_counter() - began) * 1000
            chosen = back.get(suggestion.role_id or "", suggestion.role_id)
            shown = [back.get(c.role_id, c.role_id) for c in suggestion.candidates]
            ranked = ([chosen] if chosen else []) + [s for s in shown if s != chosen]
            usage = suggestion.provenance.get("usage", {})
            record = _record(
                index,
                example,
                ranked=ranked,
                predicted=chosen,
                confidence=suggestion.confidence,
                abstained=chosen is None,
                latency_ms=latency,
                known=known,
            )
            record.update(
                calls=int(usage.get("calls", 0)),
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                flags=list(suggestion.flags),
            )
            records.append(record)
            progress(len(records), len(queries))
        return records, model_name, prompt.ref


def _model_from_settings(name: str | None) -> BaseChatModel:
    from core.settings import get_settings
    from tools.mapping.llm import chat_model_from_settings

    settings = get_settings()
    if name:
        settings = settings.model_copy(update={"llm_model": name})
    return chat_model_from_settings(settings)


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


def metrics(records: Sequence[Record], model: str | None) -> dict[str, float | None]:
    ranks = [int(r["rank"]) for r in records]
    conf = [float(r["confidence"]) for r in records]
    correct = [bool(r["correct"]) for r in records]
    p50, p95 = latency_percentiles([float(r["latency_ms"]) for r in records])
    a_precision, a_recall = abstention_precision_recall(
        [bool(r["abstained"]) for r in records], [bool(r["should_abstain"]) for r in records]
    )
    tokens_in = sum(int(r["input_tokens"]) for r in records)
    tokens_out = sum(int(r["output_tokens"]) for r in records)
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
        "model_calls": float(sum(int(r["calls"]) for r in records)),
        "input_tokens": float(tokens_in),
        "output_tokens": float(tokens_out),
        "cost_usd": cost,
    }


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
