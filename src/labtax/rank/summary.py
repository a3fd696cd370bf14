"""Showing a rank run: the dry-run plan and the summary table. Formatting happens here only."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from labtax.models.progress import plural, table_console
from labtax.preferences import SPLITS

PLAN_COLUMNS = ("questions", "candidates", "samples", "comparisons", "calls_max")
SUMMARY_COLUMNS = ("questions", "candidates", "comparisons", "verdicts", "dropped_rankings", "pairs")
HEADINGS = {
    "verdicts": "agree/not",
    "dropped_rankings": "invalid",
    "calls_max": "calls max",
    "samples": "samples",
    "comparisons": "compared",
    "candidates": "answers",
    "reward/dpo/val/test": "r/d/v/t",
}


def _folder(leaf_path: str) -> str:
    return leaf_path.removesuffix("/qna.yaml")


def plan_table(plan: list[dict[str, Any]]) -> Table:
    """Per leaf the most work a run can take (candidates after de-duplication may be fewer)."""
    table = Table(title="labtax rank --dry-run: the most work per leaf (nothing is called)")
    table.add_column("leaf", no_wrap=True)
    for column in PLAN_COLUMNS:
        table.add_column(HEADINGS.get(column, column), justify="right")
    for entry in plan:
        table.add_row(_folder(entry["leaf"]), *(str(entry[c]) for c in PLAN_COLUMNS))
    table.add_row("[bold]total[/bold]", *(f"[bold]{sum(e[c] for e in plan)}[/bold]" for c in PLAN_COLUMNS))
    return table


def summary_table(leaves: dict[str, Any], paths: list[str]) -> Table:
    """Per leaf ranked now: questions, candidates, ranker calls, verdicts, pairs by split, calls and
    cache hits."""
    table = Table(
        title="labtax rank",
        caption="answers: candidates (distinct); compared: ranker calls; agree/not: "
        "candidate pairs whose verdicts in both orders agree or not; "
        "invalid: list rankings that were no permutation; "
        "r/d/v/t: pairs in reward/dpo/val/test (test: held-out prompts only); "
        "calls: teacher calls made; cached: calls the cache answered",
    )
    table.add_column("leaf", overflow="fold")
    for column in (*SUMMARY_COLUMNS, "/".join(SPLITS), "calls", "cached"):
        heading = HEADINGS.get(column, column)
        table.add_column(heading, justify="right", no_wrap=True, min_width=len(heading))
    for path in (p for p in paths if p in leaves):
        entry = leaves[path]
        splits = "/".join(str(entry.get("splits", {}).get(s, 0)) for s in SPLITS)
        counts = {
            **entry,
            "verdicts": f"{entry.get('consistent_verdicts', 0)}/{entry.get('inconsistent_verdicts', 0)}",
        }
        table.add_row(
            str(entry["output"]).removesuffix(".jsonl"),
            *(str(counts.get(c, 0)) for c in SUMMARY_COLUMNS),
            splits,
            str(entry.get("teacher_calls", 0)),
            str(entry.get("cache_hits", 0)),
        )
    return table


def summary_line(result: Any) -> str:
    """`12 pairs (reward 5, dpo 4, val 2, test 1; 1 test question, from held-out prompts) for 2 leaves
    in DIR (1.2 s; 30 teacher calls, 0 cache hits)`."""
    entries = [result.manifest.get("leaves", {}).get(p, {}) for p in result.ranked]
    pairs = sum(int(e.get("pairs", 0)) for e in entries)
    splits = ", ".join(f"{s} {sum(int(e.get('splits', {}).get(s, 0)) for e in entries)}" for s in SPLITS)
    tested = sum(int(e.get("test_questions", 0)) for e in entries)
    splits += f"; {plural(tested, 'test question')}, from held-out prompts"
    calls, hits = (
        sum(int(e.get("teacher_calls", 0)) for e in entries),
        sum(int(e.get("cache_hits", 0)) for e in entries),
    )
    return (
        f"{plural(pairs, 'pair')} ({splits}) for {plural(len(entries), 'leaf', 'leaves')} in {result.output} "
        f"({result.wall_s:.1f} s; {plural(calls, 'teacher call')}, {plural(hits, 'cache hit')})"
    )


def print_result(result: Any, console: Console | None = None) -> None:
    """What `labtax rank` prints: tables to stdout, notes to stderr."""
    out = console or table_console()
    err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    for path in result.empty:
        err.print(
            f"no records: {path} has no generated records in its generate output; "
            f"run `labtax generate {_folder(path)}` first"
        )
    for reason in result.failed.values():
        err.print(f"failed: {reason}")
    if result.plan or (result.selection.generate and not result.ranked and not result.manifest):
        if result.plan:
            out.print(plan_table(result.plan))
        return
    if not result.selection.generate and not result.removed:
        hint = " Use `labtax rank --all` to rank every leaf." if result.selection.how == "changed" else ""
        err.print(
            f"{'no changed leaves' if result.selection.how == 'changed' else 'no leaves'}: "
            f"nothing to rank.{hint}"
        )
        return
    if result.ranked:
        out.print(summary_table(result.manifest.get("leaves", {}), result.ranked))
    for path in result.removed:
        err.print(f"removed {path} (its leaf was deleted or has no records now)")
    err.print(summary_line(result))
