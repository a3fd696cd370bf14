"""What `labtax generate` prints: the summary table after a run, the dry-run plan.

Formatting happens here only; the pipeline returns values.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labtax.models.progress import plural, table_console


def _folder(leaf_path: str) -> str:
    return leaf_path.removesuffix("/qna.yaml")


def summary_table(manifest_leaves: dict[str, Any], leaf_paths: list[str]) -> Table:
    """Per leaf (a row with its teacher calls and cache hits), its stages: generated, kept, dropped by
    reason; then the candidates tried, the records kept and the target; then its eval items."""
    table = Table(
        title="labtax generate",
        show_lines=False,
        caption="calls: teacher calls this run made; cached: calls the cache answered",
    )
    # A leaf's name has a row to itself and nothing wraps (a folder name cut in two reads as two
    # names); each drop reason has a line of its own.
    table.add_column("leaf / stage", no_wrap=True)
    for column in ("generated", "kept", "dropped", "calls", "cached"):
        table.add_column(column, justify="left" if column == "dropped" else "right", no_wrap=True)
    for path in (p for p in leaf_paths if p in manifest_leaves):
        entry = manifest_leaves[path]
        name = str(entry.get("output") or _folder(path)).removesuffix(".jsonl")
        table.add_row(
            f"[bold]{escape(name)}[/bold]",
            "",
            "",
            "",
            str(entry.get("teacher_calls", "-")),
            str(entry.get("cache_hits", "-")),
        )
        for stage, counts in entry["stages"].items():
            dropped = "\n".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "-"
            table.add_row(f"  {stage}", str(counts["generated"]), str(counts["kept"]), dropped, "", "")
        table.add_row(
            "  [bold]records[/bold]",
            str(entry.get("candidates", "")),
            f"[bold]{entry['records']}[/bold]",
            _target_note(entry),
            "",
            "",
            end_section="items" not in entry.get("eval", {}),
        )
        if "items" in entry.get("eval", {}):
            table.add_row(
                "  [bold]eval items[/bold]", "", *_eval_cells(entry["eval"]), "", "", end_section=True
            )
    return table


def _eval_cells(evaluation: dict[str, Any]) -> tuple[str, str]:
    """The eval items row: how many, and in the notes column the half-width of the 95 % interval they
    give at 50 % accuracy (1.96 * sqrt(0.25 / n)), how they were made and what the filters dropped."""
    items = int(evaluation["items"])
    width = f"±{evaluation['half_width_95']:.3f} (95 % at 50 %)" if items else "[red]none[/red]"
    made = ", ".join(f"{how} {n}" for how, n in evaluation.get("made_by", {}).items())
    dropped = [f"{reason} {n}" for reason, n in evaluation.get("dropped", {}).items()]
    return f"[bold]{items}[/bold]", "\n".join([width, made, *dropped])


def _target_note(entry: dict[str, Any]) -> str:
    """ "target 3 met in 2 rounds" for the records row (blank for manifests written before rounds)."""
    if "rounds" not in entry:
        return ""
    met = "met" if entry["target_met"] else "[red]not met[/red]"
    return f"target {entry['target']} {met} in {entry['rounds']} round{'s' * (entry['rounds'] != 1)}"


def plan_table(plan: list[dict[str, Any]]) -> Table:
    """The teacher calls a run can make at most, per leaf and stage, with what the cache answers and
    the estimated time."""
    table = Table(title="labtax generate --dry-run: teacher calls at most (a run cannot exceed them)")
    for column in ("leaf", "stage", "calls max", "cached", "eta"):
        table.add_column(column, justify="left" if column in ("leaf", "stage") else "right", overflow="fold")
    for entry in plan:
        chunks = f" ({entry['chunks']} chunks)" if entry.get("chunks") is not None else ""
        for index, (stage, calls) in enumerate(entry["stages"].items()):
            table.add_row(_folder(entry["leaf"]) + chunks if index == 0 else "", stage, str(calls), "", "")
        table.add_row(
            "",
            "[bold]leaf[/bold]",
            str(entry["calls_max"]),
            _unknown(entry["cached"]),
            _eta(entry["eta_s"]),
            end_section=True,
        )
    totals = plan_totals(plan)
    table.add_row(
        "[bold]total[/bold]",
        "",
        f"[bold]{totals['calls_max']}[/bold]",
        _unknown(totals["cached"]),
        _eta(totals["eta_s"]),
    )
    return table


def plan_totals(plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over the leaves of a plan (cached and eta stay None when any leaf's is unknown)."""

    def total(key: str) -> Any:
        values = [entry[key] for entry in plan]
        return None if any(v is None for v in values) else round(sum(values), 1)

    return {
        "calls_max": sum(entry["calls_max"] for entry in plan),
        "cached": total("cached"),
        "eta_s": total("eta_s"),
    }


def plan_json(plan: list[dict[str, Any]]) -> str:
    """`--dry-run --format json`: {"leaves": [one object per leaf], "total": {...}}."""
    return json.dumps({"leaves": plan, "total": plan_totals(plan)}, indent=2)


def _unknown(value: Any) -> str:
    return "?" if value is None else str(value)


def _eta(seconds: float | None) -> str:
    """At most this long (from the rate measured by earlier runs), or "?" before any."""
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def print_result(result: Any, console: Console | None = None) -> None:
    """What `labtax generate` prints after a run (or a dry run): tables to stdout, notes to stderr."""
    out = console or table_console()
    err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    if result.plan or (result.failed and not result.manifest):  # a dry run, or a run stopped before any work
        if result.plan:
            out.print(plan_table(result.plan))
            err.print(
                "cached: calls the cache answers (? = the teacher's model or probe is not known yet); "
                "eta: the calls not cached at the rate measured by earlier runs (? = none yet)"
            )
        for reason in result.failed.values():
            err.print(f"failed: {reason}")
        return
    if not result.selection.generate and not result.selection.remove:
        hint = (
            " Use `labtax generate --all` to generate for every leaf."
            if result.selection.how == "changed"
            else ""
        )
        what = "no changed leaves" if result.selection.how == "changed" else "no leaves"
        err.print(f"{what}: nothing to generate.{hint}")
        return
    if result.manifest:
        out.print(summary_table(result.manifest.get("leaves", {}), result.selection.generate))
    for path in result.removed:
        err.print(f"removed {path} (its leaf was deleted)")
    for reason in result.failed.values():
        err.print(f"failed: {reason}")
    entries = [
        result.manifest.get("leaves", {}).get(p, {})
        for p in result.selection.generate
        if p not in result.failed
    ]
    records = sum(int(e.get("records", 0)) for e in entries)
    calls, hits = (
        sum(int(e.get("teacher_calls", 0)) for e in entries),
        sum(int(e.get("cache_hits", 0)) for e in entries),
    )
    err.print(
        f"{plural(records, 'record')} for {plural(len(entries), 'leaf', 'leaves')} in {result.output} "
        f"({result.wall_s:.1f} s; {plural(calls, 'teacher call')}, {plural(hits, 'cache hit')})"
    )
