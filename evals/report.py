"""Human-readable reports of a stored run: ``report.md`` and a self-contained ``report.html``.

The HTML has no external assets (plots are inline SVG from matplotlib's Agg backend, styles
inline) so it can be attached to a ticket or opened offline. Plots: precision against
coverage when auto-applying by confidence, a reliability diagram, and the most confused
(gold, predicted) pairs. Suites without confidences (pii, e2e) get their own tables instead.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from evals.display import format_metric
from evals.metric_targets import targets_for
from evals.metrics import calibration_bins, precision_coverage_curve
from evals.runner import Delta, Run, compare_runs

SCRIPTED_NOTE = (
    "The injection suite's `steered_rate` comes from a scripted prompt-following model: it "
    "demonstrates the gate's mechanics (a prompt without the candidate-only and "
    "'titles are data' rules fails), not how a real model behaves."
)


_fmt = format_metric


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _unit_square_svg(
    figure: Any, axes: Any, *, xlabel: str, ylabel: str, top: float, title: str
) -> str:
    """Finish a plot of shares against shares (both axes from 0 to about 1) as inline SVG."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, top)
    axes.legend(fontsize=7)
    axes.set_title(title)
    return _svg(figure)


def _has_confidence(run: Run) -> bool:
    return bool(run.records) and all("confidence" in r and "correct" in r for r in run.records)


def precision_coverage_svg(runs: list[Run]) -> str:
    figure, axes = plt.subplots(figsize=(5.5, 4))
    for run in runs:
        coverage, precision = precision_coverage_curve(
            [float(r["confidence"]) for r in run.records],
            [bool(r["correct"]) for r in run.records],
        )
        axes.plot(coverage, precision, label=run.run_id)
    axes.axhline(0.8, color="grey", linestyle="--", linewidth=0.8, label="target precision 0.8")
    return _unit_square_svg(
        figure,
        axes,
        xlabel="coverage (share auto-applied, most confident first)",
        ylabel="precision of the auto-applied set",
        top=1.02,
        title="Precision vs coverage",
    )


def calibration_svg(run: Run) -> str:
    mean_conf, accuracy, counts = calibration_bins(
        [float(r["confidence"]) for r in run.records], [bool(r["correct"]) for r in run.records]
    )
    centres = (np.arange(10) + 0.5) / 10
    figure, axes = plt.subplots(figsize=(5.5, 4))
    filled = counts > 0
    axes.bar(centres[filled], accuracy[filled], width=0.09, alpha=0.7, label="accuracy per bin")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8, label="perfect")
    axes.plot(mean_conf[filled], accuracy[filled], "o", color="black", markersize=3)
    for x, y, n in zip(centres[filled], accuracy[filled], counts[filled], strict=True):
        axes.annotate(str(int(n)), (x, y), ha="center", va="bottom", fontsize=6)
    return _unit_square_svg(
        figure,
        axes,
        xlabel="confidence",
        ylabel="observed accuracy",
        top=1.05,
        title="Reliability diagram (10 bins, counts above bars)",
    )


def confused_pairs(run: Run, top: int = 10) -> list[tuple[str, str, int]]:
    pairs: Counter[tuple[str, str]] = Counter()
    for record in run.records:
        predicted, gold = record.get("predicted"), record.get("gold")
        if predicted and gold and predicted != gold:
            pairs[(str(gold), str(predicted))] += 1
    return [(g, p, n) for (g, p), n in pairs.most_common(top)]


def confusion_svg(pairs: list[tuple[str, str, int]], labels: dict[str, str]) -> str:
    figure, axes = plt.subplots(figsize=(7, max(2.0, 0.35 * len(pairs) + 1)))
    names = [f"{labels.get(g, _short(g))} -> {labels.get(p, _short(p))}" for g, p, _ in pairs]
    axes.barh(range(len(pairs)), [n for _, _, n in pairs], color="#c0504d")
    axes.set_yticks(range(len(pairs)), names, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("examples (gold -> predicted)")
    axes.set_title("Most confused role pairs")
    return _svg(figure)


def _short(role_id: str) -> str:
    return role_id.rstrip("/").rsplit("/", 1)[-1][:18]


def _labels(run: Run) -> dict[str, str]:
    """Role labels from the run's catalog when it is an ESCO CSV (ids alone are opaque)."""
    catalog = (run.summary.get("options") or {}).get("catalog")
    if not catalog or not Path(catalog).is_file():
        return {}
    from evals.suites.titles import load_roles

    return {r.role_id: r.label for r in load_roles(Path(catalog))}


METRIC_COLUMNS = ("metric", "value", "95% CI", "target", "met")


def _metric_rows(run: Run) -> list[tuple[str, str, str, str, str]]:
    """One row per metric; a metric with a target (evals/metric_targets.py) says pass or FAIL."""
    metrics = run.summary["metrics"]
    intervals = run.summary.get("intervals") or {}
    targets = targets_for(str(run.summary["suite"]), metrics)
    rows = []
    for name, value in metrics.items():
        interval = intervals.get(name)
        ci = f"[{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval else ""
        target = targets.get(name)
        verdict = "" if target is None else _verdict(target.met(value))
        described = target.describe() if target else ""
        rows.append((name, _fmt(value, name=name), ci, described, verdict))
    return rows


def _verdict(met: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "no value"}[met]


def _targets_line(rows: Sequence[tuple[str, ...]]) -> str | None:
    judged = [(row[0], row[4]) for row in rows if row[4]]
    if not judged:
        return None
    met = sum(verdict == "pass" for _, verdict in judged)
    failed = [name for name, verdict in judged if verdict == "FAIL"]
    line = f"Targets: {met} of {len(judged)} met"
    return line + (f"; FAILED: {', '.join(failed)}" if failed else "")


def _count_rows(run: Run) -> list[tuple[str, str]]:
    counts = run.summary.get("counts") or {}
    return [(str(name), _fmt(value, name=str(name))) for name, value in counts.items()]


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table; pipes inside cells are escaped so a label cannot split a row."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(head), "|" + "---|" * len(head), *(line(row) for row in rows)]


def _delta_rows(deltas: list[Delta]) -> list[tuple[str, ...]]:
    return [
        (
            d.metric,
            _fmt(d.a, name=d.metric),
            _fmt(d.b, name=d.metric),
            f"{d.delta:+.4f}",
            f"[{d.interval.low:+.4f}, {d.interval.high:+.4f}]",
            "yes" if d.significant else "no",
        )
        for d in deltas
    ]


def write_report(run: Run, compare: Run | None = None) -> tuple[Path, Path]:
    """Writes report.md and report.html into the run directory; returns their paths."""
    summary = run.summary
    deltas, shared = compare_runs(run, compare) if compare else ([], 0)
    pairs = confused_pairs(run) if any("gold" in r for r in run.records) else []
    labels = _labels(run) if pairs else {}
    plots: list[tuple[str, str]] = []
    if _has_confidence(run):
        plots.append(
            (
                "Precision vs coverage",
                precision_coverage_svg([run, *([compare] if compare else [])]),
            )
        )
        plots.append(("Calibration", calibration_svg(run)))
    if pairs:
        plots.append(("Confusion", confusion_svg(pairs, labels)))

    metric_rows = _metric_rows(run)
    count_rows = _count_rows(run)
    targets = _targets_line(metric_rows)
    header = [
        f"Suite: {summary['suite']}, run {summary['run_id']}",
        f"Dataset: {summary['dataset']['path']} (sha256 {summary['dataset']['sha256'][:16]})",
        f"Prompt: {summary.get('prompt') or '-'}; model: {summary.get('model') or '-'}",
        f"Git commit: {summary.get('git_commit') or '-'}; duration {summary['duration_s']} s",
        f"Intervals: {summary.get('interval_method')}",
        *([targets] if targets else []),
    ]
    pair_rows = [(labels.get(g, g), labels.get(p, p), str(n)) for g, p, n in pairs]
    md = [f"# Evaluation report: {summary['suite']}", "", *[f"- {h}" for h in header], ""]
    md += ["## Metrics", "", *_md_table(METRIC_COLUMNS, metric_rows)]
    if count_rows:
        md += ["", "## Counts", "", *_md_table(("what", "count"), count_rows)]
    if compare:
        md += [
            "",
            f"## Compared with {compare.run_id} ({shared} shared examples, paired bootstrap)",
            "",
            *_md_table(
                ("metric", "this run", "other", "delta (other - this)", "95% CI", "significant"),
                _delta_rows(deltas),
            ),
        ]
    if pairs:
        md += ["", "## Most confused pairs", "", *_md_table(("gold", "predicted", "n"), pair_rows)]
    if summary["suite"] == "injection":
        md += ["", "## Note", "", SCRIPTED_NOTE]
    if plots:
        names = ", ".join(title.lower() for title, _ in plots)
        md += ["", f"Plots ({names}) are in report.html (inline SVG)."]
    md_path = run.directory / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")

    def table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
        th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Eval report {html.escape(summary['run_id'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}"
        "figure{margin:1em 0;display:inline-block;vertical-align:top}"
        "figure svg{width:520px;height:auto}.note{background:#fff8e1;padding:.5em 1em}</style>",
        "</head><body>",
        f"<h1>Evaluation report: {html.escape(summary['suite'])}</h1><ul>",
        *[f"<li>{html.escape(h)}</li>" for h in header],
        "</ul><h2>Metrics</h2>",
        table(METRIC_COLUMNS, metric_rows),
    ]
    if count_rows:
        parts += ["<h2>Counts</h2>", table(("what", "count"), count_rows)]
    if compare:
        parts.append(
            f"<h2>Compared with {html.escape(compare.run_id)} ({shared} shared examples, "
            "paired bootstrap)</h2>"
        )
        parts.append(
            table(
                ("metric", "this run", "other", "delta", "95% CI", "significant"),
                _delta_rows(deltas),
            )
        )
    if pairs:
        parts.append("<h2>Most confused pairs</h2>")
        parts.append(table(("gold", "predicted", "n"), pair_rows))
    if plots:
        parts.append("<h2>Plots</h2>")
        for title, svg in plots:
            parts.append(
                f"<figure class='plot' data-plot='{html.escape(title)}'>{svg}"
                f"<figcaption>{html.escape(title)}</figcaption></figure>"
            )
    if summary["suite"] == "injection":
        parts.append(f"<p class='note'>{html.escape(SCRIPTED_NOTE)}</p>")
    parts.append("</body></html>")
    html_path = run.directory / "report.html"
    html_path.write_text("\n".join(parts), encoding="utf-8")
    return md_path, html_path
