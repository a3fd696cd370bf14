"""Showing long work: a live progress bar per stage (plain lines when piped), with counts, rate and ETA.

Every stage that calls a model (generate, eval, rank) shows its calls through StageProgress.
"""

from __future__ import annotations

import time
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
)
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
        return Text(
            f"eta {_duration(left)}" if left is not None and not task.finished else "eta -",
            style="progress.remaining",
        )


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
            parts.append(
                f"{stage} {task.completed:.0f}/{task.total or 0:.0f} {per_time(speed)} eta {_duration(left)}"
            )
        return "progress: " + "; ".join(parts)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def table_console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width, or 120 columns when piped (rich's 80 would
    fold every leaf path across several lines of a log)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=120)


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 record", "2 records", "1 leaf", "3 leaves"."""
    return f"{count} {one if count == 1 else many or one + 's'}"
