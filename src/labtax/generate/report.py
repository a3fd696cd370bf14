"""Showing a run: the live progress display per stage, the summary table, the dry-run plan.

Formatting happens here only; the pipeline returns values.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text


PLAIN_INTERVAL_S = 10.0  # seconds between plain progress lines when the output is not a terminal


def rate(completed: float, elapsed: float | None) -> float | None:
    """Completed calls per second of wall time since the stage started (cache hits included).
    Not rich's windowed speed: a burst of cache hits would show thousands per second for minutes."""
    return completed / elapsed if elapsed and completed else None


def eta(total: float | None, completed: float, elapsed: float | None) -> float | None:
    speed = rate(completed, elapsed)
    return (total - completed) / speed if speed and total else None


def per_time(speed: float | None) -> str:
    """A rate people can read: per second, or per minute below 0.1/s (a small teacher on 2 cores)."""
    if not speed:
        return "-/s"
    return f"{speed:.1f}/s" if speed >= 0.1 else f"{speed * 60:.1f}/min"


class RateColumn(ProgressColumn):
    """Calls per second over the stage's wall time."""

    def render(self, task: Task) -> Text:
        return Text(per_time(rate(task.completed, task.elapsed)), style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """Time left at the stage's average rate."""

    def render(self, task: Task) -> Text:
        left = eta(task.total, task.completed, task.elapsed)
        return Text(f"eta {_duration(left)}" if left is not None and not task.finished else "eta -", style="progress.remaining")


class StageProgress:
    """One progress bar per stage; totals grow as the stages plan their calls. When the console is
    not a terminal (piped, redirected, CI), plain lines every `interval` seconds instead of bars."""

    def __init__(self, console: Console, enabled: bool, interval: float = PLAIN_INTERVAL_S) -> None:
        self._console = console
        self._plain = enabled and not console.is_terminal
        self._interval = interval
        self._progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            EtaColumn(),
            console=console,
            disable=not enabled or self._plain,
        )
        self._tasks: dict[str, Any] = {}
        self._printed = 0.0

    def __enter__(self) -> StageProgress:
        self._progress.start()
        self._printed = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
        if self._plain and self._tasks:
            self._console.print(self.plain_line(), markup=False, highlight=False, soft_wrap=True)

    def planned(self, stage: str, count: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=0)
        task = self._tasks[stage]
        self._progress.update(task, total=(self._progress.tasks[task].total or 0) + count)

    def done(self, stage: str) -> None:
        self._progress.advance(self._tasks[stage])
        if self._plain and time.monotonic() - self._printed >= self._interval:
            self._printed = time.monotonic()
            self._console.print(self.plain_line(), markup=False, highlight=False, soft_wrap=True)

    def plain_line(self) -> str:
        """`progress: stage done/total rate/s eta; ...` for every stage started so far."""
        parts = []
        for stage, task_id in self._tasks.items():
            task = self._progress.tasks[task_id]
            speed, left = rate(task.completed, task.elapsed), eta(task.total, task.completed, task.elapsed)
            parts.append(f"{stage} {task.completed:.0f}/{task.total or 0:.0f} {per_time(speed)} eta {_duration(left)}")
        return "progress: " + "; ".join(parts)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _folder(leaf_path: str) -> str:
    return leaf_path.removesuffix("/qna.yaml")


def table_console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width, or 120 columns when piped (rich's 80 would
    fold every leaf path across several lines of a log)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=120)


def summary_table(manifest_leaves: dict[str, Any], leaf_paths: list[str]) -> Table:
    """Per leaf (a row with its teacher calls and cache hits), its stages: generated, kept, dropped by
    reason; then the candidates tried, the records kept and the target."""
    table = Table(title="labtax generate", show_lines=False, caption="calls: teacher calls this run made; cached: calls the cache answered")
    # A leaf's name has a row to itself and nothing wraps (a folder name cut in two reads as two
    # names); each drop reason has a line of its own.
    table.add_column("leaf / stage", no_wrap=True)
    for column in ("generated", "kept", "dropped", "calls", "cached"):
        table.add_column(column, justify="left" if column == "dropped" else "right", no_wrap=True)
    for path in (p for p in leaf_paths if p in manifest_leaves):
        entry = manifest_leaves[path]
        name = str(entry.get("output") or _folder(path)).removesuffix(".jsonl")
        table.add_row(f"[bold]{escape(name)}[/bold]", "", "", "", str(entry.get("teacher_calls", "-")), str(entry.get("cache_hits", "-")))
        for stage, counts in entry["stages"].items():
            dropped = "\n".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "-"
            table.add_row(f"  {stage}", str(counts["generated"]), str(counts["kept"]), dropped, "", "")
        table.add_row("  [bold]records[/bold]", str(entry.get("candidates", "")), f"[bold]{entry['records']}[/bold]", _target_note(entry), "", "", end_section=True)
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
    if result.plan or (result.failed and not result.manifest):  # a dry run, or a run stopped before any work
        if result.plan:
            out.print(plan_table(result.plan))
            err.print("cached: calls the cache answers (? = the teacher's model or probe is not known yet); "
                      "eta: the calls not cached at the rate measured by earlier runs (? = none yet)")
        for reason in result.failed.values():
            err.print(f"failed: {reason}")
        return
    if not result.selection.generate and not result.selection.remove:
        hint = " Use `labtax generate --all` to generate for every leaf." if result.selection.how == "changed" else ""
        what = "no changed leaves" if result.selection.how == "changed" else "no leaves"
        err.print(f"{what}: nothing to generate.{hint}")
        return
    if result.manifest:
        out.print(summary_table(result.manifest.get("leaves", {}), result.selection.generate))
    for path in result.removed:
        err.print(f"removed {path} (its leaf was deleted)")
    for reason in result.failed.values():
        err.print(f"failed: {reason}")
    entries = [result.manifest.get("leaves", {}).get(p, {}) for p in result.selection.generate if p not in result.failed]
    records = sum(int(e.get("records", 0)) for e in entries)
    calls, hits = sum(int(e.get("teacher_calls", 0)) for e in entries), sum(int(e.get("cache_hits", 0)) for e in entries)
    err.print(f"{plural(records, 'record')} for {plural(len(entries), 'leaf', 'leaves')} in {result.output} ({result.wall_s:.1f} s; "
              f"{plural(calls, 'teacher call')}, {plural(hits, 'cache hit')})")


def plural(count: int, one: str, many: str | None = None) -> str:
    """"1 record", "2 records", "1 leaf", "3 leaves"."""
    return f"{count} {one if count == 1 else many or one + 's'}"
