"""`<output>/generate.log`: what a generate run did, leaf by leaf, for after the fact."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

log = logging.getLogger("labtax.generate")
LOG_NAME = "generate.log"


class _QuietFileHandler(logging.FileHandler):
    """A log file that stays silent when it cannot be written (a full disk): logging would print a
    traceback on stderr for every line. The run's own writes fail with a located message instead."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the last flush failed: the same silence
            super().close()


class LogFile:
    """Attach `<output>/generate.log` to the labtax.generate logger for the duration of a run."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.handler: logging.Handler | None = None

    def __enter__(self) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        self.handler = _QuietFileHandler(self.output / LOG_NAME, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(self.handler)
        log.setLevel(logging.INFO)

    def __exit__(self, *exc: object) -> None:
        if self.handler is not None:
            log.removeHandler(self.handler)
            self.handler.close()
