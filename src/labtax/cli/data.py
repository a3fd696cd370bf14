"""labtax generate, rank and report: synthetic data, preference pairs, and the review page.

Each command imports the library behind it when it runs, so `labtax --help` and the light commands
never load torch or the other stages."""

from __future__ import annotations

from pathlib import Path

import click

from labtax.cli.group import cli, default
from labtax.errors import EXIT_FINDINGS, LabtaxError

# ---- generate ---------------------------------------------------------------------------------


@cli.command()
@click.argument("leaves", nargs=-1, metavar="[LEAF]...")
@click.option(
    "--base", metavar="REF", help="Generate for the leaves changed against REF (default: as `labtax diff`)."
)
@click.option("--all", "all_leaves", is_flag=True, help="Generate for every leaf of the taxonomy.")
@click.option(
    "--teacher",
    metavar="embedded|URL",
    multiple=True,
    help="embedded (default) or an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1; "
    "repeat for several servers of one model.",
)
@click.option(
    "--model", metavar="NAME", help="Model name for a server teacher (default: the first one it lists)."
)
@click.option(
    "--num-instructions",
    type=click.IntRange(0),
    metavar="N",
    help=f"Candidates of the first round per leaf before filtering {default('generate.num_instructions')}.",
)
@click.option(
    "--target",
    type=click.IntRange(0),
    metavar="N",
    help="Kept records wanted per leaf (rounds until met or the budget is spent) "
    f"{default('generate.target_per_leaf')}.",
)
@click.option("--output", metavar="DIR", help=f"Output directory {default('generate.output')}.")
@click.option(
    "--concurrency",
    type=click.IntRange(1),
    metavar="N",
    help=f"Teacher calls in flight at once, per server {default('generate.concurrency')}.",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    metavar="S",
    help=f"Run seed (same inputs, seed and cache: same output) {default('generate.seed')}.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the most teacher calls per leaf and stage, how many are cached, and an ETA; call nothing.",
)
@click.option("--allow-empty", is_flag=True, help="Exit 0 even when a selected leaf ends with zero records.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output of --dry-run.",
)
def generate(
    leaves: tuple[str, ...],
    base: str | None,
    all_leaves: bool,
    dry_run: bool,
    allow_empty: bool,
    fmt: str,
    **settings: object,
) -> None:
    """Generate synthetic data for changed leaves with a teacher model.

    \b
    Default selection: the leaves `labtax diff` reports (deleted leaves lose their outputs).
    Writes DIR/<leaf folder>.jsonl per leaf, DIR/manifest.json and DIR/generate.log.
    Exit 1 when a leaf failed, or ended with zero records (unless --allow-empty).
    """
    from labtax.generate import GenerateOptions
    from labtax.generate import generate as run_generate
    from labtax.generate.summary import print_result

    if sum(map(bool, (leaves, all_leaves, base is not None))) > 1:
        raise click.UsageError("give at most one of --base, --all and LEAF arguments")
    options = GenerateOptions(leaves=leaves, all_leaves=all_leaves, base=base, dry_run=dry_run, **settings)  # type: ignore[arg-type]
    result = run_generate(options)
    if dry_run and fmt == "json":
        from labtax.generate.summary import plan_json

        click.echo(plan_json(result.plan))
        return
    print_result(result)
    if result.failed:
        where = "listed above" if dry_run else f"see {result.output}/generate.log"
        raise LabtaxError(f"{len(result.failed)} leaf(s) failed; {where}", exit_code=EXIT_FINDINGS)
    if result.empty and not allow_empty:
        raise LabtaxError(
            f"{len(result.empty)} leaf(s) ended with zero records ({', '.join(result.empty)}); "
            "raise --target or generate.max_candidates_per_leaf, or pass --allow-empty",
            exit_code=EXIT_FINDINGS,
        )


# ---- rank -------------------------------------------------------------------------------------


@cli.command()
@click.argument("leaves", nargs=-1, metavar="[LEAF]...")
@click.option(
    "--base", metavar="REF", help="Rank the leaves changed against REF (default: as `labtax diff`)."
)
@click.option("--all", "all_leaves", is_flag=True, help="Rank every leaf of the taxonomy.")
@click.option(
    "--candidates",
    type=click.IntRange(2, 9),
    metavar="K",
    help=f"Candidate answers per question {default('rank.candidates')}.",
)
@click.option(
    "--method",
    type=click.Choice(["pairs", "list"]),
    help="pairs: both orders of every pair, agreeing verdicts only; list: one ranking per question "
    f"{default('rank.method')}.",
)
@click.option(
    "--student",
    metavar="HF_DIR",
    help="Add a student checkpoint's greedy answers to the candidates [default: rank.student, none].",
)
@click.option(
    "--teacher", metavar="embedded|URL", help="The ranker [default: rank.teacher, else generate.teacher]."
)
@click.option("--output", metavar="DIR", help=f"Output directory {default('rank.output')}.")
@click.option(
    "--dry-run", is_flag=True, help="Print the leaves, questions, candidates and comparisons; call nothing."
)
@click.option(
    "--allow-empty", is_flag=True, help="Exit 0 even when a selected leaf has no generated records."
)
def rank(
    leaves: tuple[str, ...],
    base: str | None,
    all_leaves: bool,
    dry_run: bool,
    allow_empty: bool,
    **settings: object,
) -> None:
    """Rank candidate answers under the constitution into preference pairs (reward model, DPO).

    \b
    Default selection: the leaves `labtax diff` reports; reads generate's output of each.
    Writes DIR/<leaf folder>.jsonl, DIR/{reward,dpo,val,test}.jsonl and DIR/manifest.json.
    Exit 1 when a leaf failed, or has no generated records (unless --allow-empty).
    """
    from labtax.rank.run import RankOptions
    from labtax.rank.run import rank as run_rank
    from labtax.rank.summary import print_result

    if sum(map(bool, (leaves, all_leaves, base is not None))) > 1:
        raise click.UsageError("give at most one of --base, --all and LEAF arguments")
    result = run_rank(
        RankOptions(leaves=leaves, all_leaves=all_leaves, base=base, dry_run=dry_run, **settings)
    )  # type: ignore[arg-type]
    print_result(result)
    if result.failed:
        raise LabtaxError(f"{len(result.failed)} leaf(s) failed (listed above)", exit_code=EXIT_FINDINGS)
    if result.empty and not allow_empty:
        raise LabtaxError(
            f"{len(result.empty)} leaf(s) have no generated records ({', '.join(result.empty)}); "
            "run `labtax generate` for them first, or pass --allow-empty",
            exit_code=EXIT_FINDINGS,
        )


# ---- report -----------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--input",
    "input_dir",
    type=click.Path(path_type=Path),
    help="Output folder of `labtax generate` [default: generate.output, generated/].",
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write [default: report.html; with --format md: standard output].",
)
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True)
@click.option(
    "--since",
    metavar="REF_OR_MANIFEST",
    help="Show records added and removed per leaf since a git ref, an output folder or a manifest.json "
    "[default: none].",
)
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path),
    help="A training run folder: its loss curves (and its eval.json) on a second page [default: none].",
)
@click.option(
    "--eval",
    "eval_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="eval.json of `labtax eval` [default: in --run, else in --input].",
)
def report(
    input_dir: Path | None,
    output_file: Path | None,
    fmt: str,
    since: str | None,
    run_dir: Path | None,
    eval_file: Path | None,
) -> None:
    """Review generated data: every record and dropped candidate, the funnel per leaf, in one HTML file."""
    from labtax.config import load_config
    from labtax.report import ReportOptions, build_report

    config = load_config()
    if input_dir is None:
        input_dir = config.root / config.section("generate")["output"]
    if eval_file is None and run_dir is None:  # where `labtax eval` writes without --run
        found = config.root / config.section("eval")["output"] / "eval.json"
        eval_file = found if found.is_file() else None
    if output_file is None and fmt == "html":
        output_file = Path("report.html")
    result = build_report(ReportOptions(input_dir, output_file, fmt, since, run_dir, eval_file))
    if result.path is None:
        click.echo(result.text, nl=False)
        return
    t = result.data["totals"]
    click.echo(
        f"wrote {result.path} ({len(result.text.encode()) / 1e6:.1f} MB): "
        f"{t['records']} records, {t['dropped']} dropped, {t['leaves']} leaves",
        err=True,
    )
