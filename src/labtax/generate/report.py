"""Showing a run: the live progress display per stage, the summary table, the dry-run plan.

Formatting happens here only; the pipeline returns values.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text


class RateColumn(ProgressColumn):
    """Calls per second (cache hits included)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "-/s", style="progress.data.speed")


class StageProgress:
    """One progress bar per stage; totals grow as the stages plan their calls."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def planned(self, stage: str, count: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=0)
        task = self._tasks[stage]
        self._progress.update(task, total=(self._progress.tasks[task].total or 0) + count)

    def done(self, stage: str) -> None:
        self._progress.advance(self._tasks[stage])


def _folder(leaf_path: str) -> str:
    return leaf_path.removesuffix("/qna.yaml")


def table_console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width, or 120 columns when piped (rich's 80 would
    fold every leaf path across several lines of a log)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=120)


def summary_table(manifest_leaves: dict[str, Any], leaf_paths: list[str]) -> Table:
    """Leaves x stages: generated, kept, dropped by reason; per leaf the candidates tried, records kept and the target."""
    table = Table(title="labtax generate", show_lines=False)
    for column in ("leaf", "stage", "generated", "kept", "dropped"):
        table.add_column(column, justify="right" if column in ("generated", "kept") else "left", overflow="fold")
    for path in leaf_paths:
        entry = manifest_leaves.get(path)
        if entry is None:
            continue
        for index, (stage, counts) in enumerate(entry["stages"].items()):
            dropped = ", ".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "-"
            table.add_row(_folder(path) if index == 0 else "", stage, str(counts["generated"]), str(counts["kept"]), dropped)
        table.add_row("", "[bold]records[/bold]", str(entry.get("candidates", "")), f"[bold]{entry['records']}[/bold]", _target_note(entry), end_section=True)
    return table


def _target_note(entry: dict[str, Any]) -> str:
    """"target 3 met in 2 rounds" for the records row (blank for manifests written before rounds)."""
    if "rounds" not in entry:
        return ""
    met = "met" if entry["target_met"] else "[red]not met[/red]"
    return f"target {entry['target']} {met} in {entry['rounds']} round{'s' * (entry['rounds'] != 1)}"


def plan_table(plan: list[dict[str, Any]]) -> Table:
    """The teacher calls a run can make at most, per leaf and stage, with what the cache answers and the estimated time."""
    table = Table(title="labtax generate --dry-run: teacher calls at most (a run cannot exceed them)")
    for column in ("leaf", "stage", "calls max", "cached", "eta"):
        table.add_column(column, justify="left" if column in ("leaf", "stage") else "right", overflow="fold")
    for entry in plan:
        chunks = f" ({entry['chunks']} chunks)" if entry.get("chunks") is not None else ""
        for index, (stage, calls) in enumerate(entry["stages"].items()):
            table.add_row(_folder(entry["leaf"]) + chunks if index == 0 else "", stage, str(calls), "", "")
        table.add_row("", "[bold]leaf[/bold]", str(entry["calls_max"]), _unknown(entry["cached"]), _eta(entry["eta_s"]), end_section=True)
    totals = plan_totals(plan)
    table.add_row("[bold]total[/bold]", "", f"[bold]{totals['calls_max']}[/bold]", _unknown(totals["cached"]), _eta(totals["eta_s"]))
    return table


def plan_totals(plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over the leaves of a plan (cached and eta stay None when any leaf's is unknown)."""
    def total(key: str) -> Any:
        values = [entry[key] for entry in plan]
        return None if any(v is None for v in values) else round(sum(values), 1)

    return {"calls_max": sum(entry["calls_max"] for entry in plan), "cached": total("cached"), "eta_s": total("eta_s")}


def plan_json(plan: list[dict[str, Any]]) -> str:
    """`--dry-run --format json`: {"leaves": [one object per leaf], "total": {...}}."""
    import json

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
    if result.plan:
        out.print(plan_table(result.plan))
        err.print("cached: calls the cache answers (? = the teacher's model or probe is not known yet); "
                  "eta: the calls not cached at the rate measured by earlier runs (? = none yet)")
        return
    if not result.selection.generate and not result.selection.remove:
        what = "no changed leaves" if result.selection.how == "changed" else "no leaves"
        err.print(f"{what}: nothing to generate. Use `labtax generate --all` to generate for every leaf.")
        return
    if result.manifest:
        out.print(summary_table(result.manifest.get("leaves", {}), result.selection.generate))
    for path in result.removed:
        err.print(f"removed {path} (its leaf was deleted)")
    for reason in result.failed.values():
        err.print(f"failed: {reason}")
    records = sum(int(result.manifest.get("leaves", {}).get(p, {}).get("records", 0)) for p in result.selection.generate if p not in result.failed)
    done = len(result.selection.generate) - len(result.failed)
    err.print(f"{records} records for {done} leaves in {result.output} ({result.wall_s:.1f} s)")
