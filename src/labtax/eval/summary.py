"""What `labtax eval` shows: eval.json (schemas/eval.schema.json), eval.md (models by metric,
leaves by model, regressions) and eval.png (scores per model, in phase order); a terminal table."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rich.table import Table

from labtax.bootstrap import LEVEL, RESAMPLES, shown
from labtax.files import write_text_atomic
from labtax.train.select import decided_by

COLUMNS = {  # metric -> column title; scores on a 0-1 scale except the judge's 1-10
    "mcq_accuracy": "MCQ acc",
    "judge_score": "judge 1-10",
    "judge_score_weighted": "judge (p-weighted)",
    "bleu": "BLEU",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "benchmark_accuracy": "benchmark acc",
    "reward_deviation": "reward dev.",
}
CHART = ("mcq_accuracy", "judge_score", "rougeL", "benchmark_accuracy")
COUNTS = {  # metric -> the count of items it is over, where it has no interval of its own
    "bleu": "judge_items",
    "rouge1": "judge_items",
    "rouge2": "judge_items",
    "rougeL": "judge_items",
    "reward_deviation": "reward_items",
}
READING = (
    f"Figures read mean [{LEVEL:.0%} interval] n=items: a percentile bootstrap over the items "
    f"({RESAMPLES} resamples, seeded); BLEU, ROUGE and the reward deviation show their item count only."
)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def figure(metrics: dict[str, Any], key: str) -> str:
    """A metric with its interval and item count: "0.620 [0.480, 0.750] n=40"."""
    found = (metrics.get("intervals") or {}).get(key)
    if found is None and metrics.get(COUNTS.get(key, "")) is not None:
        found = {"low": None, "high": None, "n": metrics[COUNTS[key]]}
    return shown(metrics.get(key), found)


def _items(model: dict[str, Any]) -> str:
    m = model["metrics"]
    return f"{m['mcq_items']} mcq, {m['judge_items']} judged, {m['benchmark_items']} benchmark"


def markdown(result: dict[str, Any]) -> str:
    models = result["models"]
    lines = [
        "# labtax eval",
        "",
        f"Judge: `{result['judge']}`; sets: {', '.join(result['sets'])}; shots: {result['shots']}.",
        "",
        READING,
        "",
    ]
    lines += [
        "| model | phase | " + " | ".join(COLUMNS.values()) + " | items |",
        "|---|---|" + "---|" * (len(COLUMNS) + 1),
    ]
    for m in models:
        lines.append(
            f"| {m['name']} | {m['phase']} | "
            + " | ".join(figure(m["metrics"], k) for k in COLUMNS)
            + f" | {_items(m)} |"
        )
    if result.get("reward_model"):
        rm = result["reward_model"]
        lines += [
            "",
            f"Reward model `{rm['path']}`: test pair accuracy {fmt(rm['test_accuracy'])} "
            f"({rm['test_pairs']} pairs). "
            "Reward dev. is the mean reward of the reference answers minus that of the model's answers "
            f"on the test prompts of `{rm['preferences']}` (lower is better).",
        ]
    chosen = [m for m in models if m.get("chosen")]
    if chosen:
        lines += ["", "## Chosen checkpoints", ""]
        lines += [
            f"- {m['phase']}: epoch {m['chosen'].get('epoch')} by `{decided_by(m['chosen'])}`: "
            f"{m['chosen'].get('why', '')}"
            for m in chosen
        ]
    lines += _leaf_table(
        models, "## By leaf (held-out sets: multiple choice / judge)", lambda m: m["by_leaf"]
    )
    lines += _leaf_table(
        models,
        "## Seed examples (trained on: a check of learning, not of generalisation)",
        lambda m: m["seeds"]["by_leaf"],
    )
    if result["regressions"]:
        lines += ["", "## Regressions", ""]
        lines += [
            f"- {r['leaf']}: {r['metric']} {fmt(r['value'])} after {r['model']}, "
            f"{fmt(r['before'])} at {r['against']}; paired change {_change(r)}"
            for r in result["regressions"]
        ]
    lines += _clean_sets(result.get("contamination"))
    if result["missing"]:
        lines += ["", "## Leaves without an evaluation set", ""]
        lines += [f"- {m['leaf']} ({m['set']}): {m['why']}" for m in result["missing"]]
    return "\n".join(lines) + "\n"


def _clean_sets(clean: dict[str, Any] | None) -> list[str]:
    """eval.md's Clean sets: per leaf, items checked against the training files, contaminated, the
    largest overlap."""
    if not clean:
        return []
    lines = ["", "## Clean sets", ""]
    if not clean["checked"]:
        return [*lines, f"Not checked: {clean['why']}."]
    lines += [
        f"Evaluation items against the training files in `{clean['data']}`: {clean['ngram']}-grams of "
        f"lower-cased words; contaminated when over {clean['threshold']:.0%} of an item's words are in "
        "n-grams seen in training.",
        "",
        "| leaf | items | contaminated | largest overlap |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {leaf} | {s['items']} | {s['contaminated']} | {s['max_overlap']:.0%} |"
        for leaf, s in clean["by_leaf"].items()
    ]
    return lines


def _leaf_table(models: list[dict[str, Any]], title: str, leaves_of: Any) -> list[str]:
    leaves = sorted({leaf for m in models for leaf in leaves_of(m)})
    if not leaves:
        return []
    lines = [
        "",
        title,
        "",
        "| leaf | " + " | ".join(m["name"] for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for leaf in leaves:
        cells = []
        for m in models:
            s = leaves_of(m).get(leaf, {})
            flag = " ▼" if s.get("regressed") else ""
            cells.append(f"{figure(s, 'mcq_accuracy')} / {figure(s, 'judge_score')}{flag}")
        lines.append(f"| {leaf} | " + " | ".join(cells) + " |")
    return lines


def _change(flag: dict[str, Any]) -> str:
    return shown(flag.get("difference"), flag.get("interval"), signed=True)


def chart(result: dict[str, Any], path: Path) -> Path | None:
    """Grouped bars: each metric of CHART across the models (judge scaled to 0-1)."""
    # matplotlib (an extra) loads slowly: imported only for the chart
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = result["models"]
    drawn = [k for k in CHART if any(m["metrics"][k] is not None for m in models)]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(2 + 1.6 * len(drawn), 4))
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        values = [_scaled(k, m["metrics"][k]) for k in drawn]
        bars = ax.bar(
            [x + i * width for x in range(len(drawn))],
            values,
            width,
            yerr=_error_bars(m["metrics"], drawn, values),
            capsize=2,
            label=f"{m['name']} ({m['phase']})",
        )
        ax.bar_label(bars, labels=[fmt(m["metrics"][k]) for k in drawn], fontsize=7)
    ax.set_xticks(
        [x + width * (len(models) - 1) / 2 for x in range(len(drawn))],
        [COLUMNS[k] + (" / 10" if k == "judge_score" else "") for k in drawn],
    )
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score (0-1)")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _error_bars(metrics: dict[str, Any], keys: list[str], values: list[float]) -> list[list[float]]:
    """The intervals as matplotlib's yerr (below, above each bar); 0 where a metric has none."""
    below, above = [], []
    for key, value in zip(keys, values, strict=True):
        found = (metrics.get("intervals") or {}).get(key) or {}
        low, high = found.get("low"), found.get("high")
        below.append(0.0 if low is None else max(0.0, value - _scaled(key, low)))
        above.append(0.0 if high is None else max(0.0, _scaled(key, high) - value))
    return [below, above]


def _scaled(metric: str, value: float | None) -> float:
    if value is None:
        return 0.0
    return value / 10 if metric == "judge_score" else value


def write_reports(out: Path, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "eval.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out / "eval.md", markdown(result))
    chart(result, out / "eval.png")


def summary_table(result: dict[str, Any]) -> Table:
    table = Table(
        title=f"labtax eval: {len(result['models'])} model(s), judge {result['judge']}", caption=READING
    )
    for title in ("model", "phase", *COLUMNS.values()):
        table.add_column(title, no_wrap=True)
    for m in result["models"]:  # the interval on a second line keeps the table narrow
        table.add_row(
            m["name"], m["phase"], *(figure(m["metrics"], k).replace(" [", "\n[", 1) for k in COLUMNS)
        )
    return table


def summary_lines(result: dict[str, Any]) -> list[str]:
    """What follows the table: regressions, missing sets, where the files are."""
    lines = [
        f"regression: {r['leaf']} {r['metric']} {fmt(r['value'])} after {r['model']} "
        f"(was {fmt(r['before'])} at {r['against']}; paired change {_change(r)})"
        for r in result["regressions"]
    ]
    lines += [f"warning: {m['leaf']}: {m['why']}" for m in result["missing"]]
    lines += _clean_line(result.get("contamination"))
    if result.get("reward_model"):
        rm = result["reward_model"]
        lines.append(
            f"reward model {rm['path']}: test pair accuracy {fmt(rm['test_accuracy'])} "
            f"({rm['test_pairs']} pairs); "
            "reward dev. = mean reward of the references - of the model's answers (lower is better)"
        )
    calls = result["judge_calls"]
    lines.append(
        f"judge calls: {calls['total']} ({calls['cache_hits']} from the cache); "
        f"wrote {result['output']}/eval.json, eval.md, eval.png in {result['wall_s']:.1f} s"
    )
    return lines


def _clean_line(clean: dict[str, Any] | None) -> list[str]:
    if not clean:
        return []
    if not clean["checked"]:
        return [f"warning: clean sets not checked: {clean['why']}"]
    dirty = [leaf for leaf, s in clean["by_leaf"].items() if s["contaminated"]]
    line = (
        f"clean sets: {clean['contaminated']} of {clean['items']} evaluation item(s) contaminated "
        f"(over {clean['threshold']:.0%} of their words in {clean['ngram']}-grams of {clean['data']})"
    )
    return [line + (f": {', '.join(dirty)}" if dirty else "")]
