"""`labtax report`: what was generated, what was dropped and why, in one HTML file (or a short
Markdown summary). read.py reads the inputs, model.py shapes the page data, html.py and
markdown.py write it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.files import write_text_atomic
from labtax.report.html import render_html
from labtax.report.markdown import render_markdown
from labtax.report.model import page_data
from labtax.report.read import EVAL_NAME, read_earlier, read_eval, read_output, read_run


@dataclass(frozen=True)
class ReportOptions:
    input: Path
    output: Path | None  # None: return the text only (the CLI prints a Markdown summary)
    fmt: str = "html"
    since: str | None = None
    run: Path | None = None
    eval_file: Path | None = None


@dataclass(frozen=True)
class ReportResult:
    path: Path | None
    data: dict[str, Any]
    text: str


def build_report(options: ReportOptions) -> ReportResult:
    """Read the output folder (and what else is given); write the report file atomically when
    `options.output` is set."""
    data = report_data(options)
    text = render_markdown(data) if options.fmt == "md" else render_html(data)
    if options.output is not None:
        write_text_atomic(options.output, text)
    return ReportResult(options.output, data, text)


def report_data(options: ReportOptions) -> dict[str, Any]:
    # A Markdown summary needs the manifest's counts only, unless it compares record ids (--since).
    output = read_output(options.input, rows=options.fmt == "html" or options.since is not None)
    earlier = read_earlier(options.since, options.input) if options.since else None
    evaluation = read_eval(options.eval_file or _eval_path(options))
    run = read_run(options.run) if options.run else None
    return page_data(output, earlier, evaluation, run)


def _eval_path(options: ReportOptions) -> Path:
    """eval.json where `labtax eval --run` writes it (RUN_DIR/eval/) or in the run folder, else in the
    input folder."""
    for candidate in (
        [options.run / "eval" / EVAL_NAME, options.run / EVAL_NAME] if options.run is not None else []
    ):
        if candidate.is_file():
            return candidate
    return options.input / EVAL_NAME


__all__ = ["ReportOptions", "ReportResult", "build_report", "render_html", "render_markdown"]
