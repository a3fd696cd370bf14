"""The `labtax` command: a thin click layer. Each command parses its options, calls one
library function, prints through a formatter and maps the result to an exit code
(codes are defined in labtax.errors)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from pathlib import Path

import click

from labtax import __version__
from labtax.errors import EXIT_FINDINGS, EXIT_USAGE, LabtaxError, os_error


def default(key: str) -> str:
    """`[default: VALUE]` for a labtax.yaml setting, read from the schema (the one source of defaults)."""
    from labtax.config import schema_defaults

    value = schema_defaults()[key]
    return f"[default: {key} = {value}]"


class PipelineGroup(click.Group):
    """Lists commands in pipeline order (the order they are defined here), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=PipelineGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="labtax")
def cli() -> None:
    """labtax: taxonomy-driven alignment with the LAB method.

    \b
    Pipeline:  labtax lint -> diff -> generate -> rank -> report -> mix -> train -> eval
    Exit codes: 0 ok, 1 findings or failed work, 2 usage, configuration or internal error.
    """


# ---- lint / fmt / new (issue: taxonomy foundation) -------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--changed", is_flag=True, help="Lint only the leaves `labtax diff` reports (deleted ones skipped).")
@click.option("--base", metavar="REF", help="Base ref for --changed (default: as `labtax diff`).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]),
              help="Output format [default: text; github when GITHUB_ACTIONS=true].")
@click.option("--profile", type=click.Choice(["labtax", "instructlab"]), help="Rule profile [default: from labtax.yaml, else labtax].")
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--list-rules", is_flag=True, help="Print the rules table and exit.")
@click.pass_context
def lint(ctx: click.Context, paths: tuple[Path, ...], changed: bool, base: str | None, fmt: str | None,
         profile: str | None, strict: bool, list_rules: bool) -> None:
    """Check taxonomy leaves: every leaf by default, or PATH... (files or folders).

    Exit 0 without errors (warnings allowed unless --strict), 1 with errors, 2 on usage errors.
    """
    import os

    from labtax.config import load_config
    from labtax.lint import collect_files, failed, lint_files, select_paths
    from labtax.lint.docs import rules_table
    from labtax.lint.output import format_problems, summary

    if list_rules:
        click.echo(rules_table(), nl=False)
        return
    overrides = {"profile": profile} if profile else {}
    config = load_config(overrides={**overrides, "lint": {"strict": True}} if strict else overrides)
    files = collect_files(select_paths(config, paths, changed, base))
    problems = lint_files(files, config)  # the files are collected once, above
    fmt = fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    click.echo(format_problems(problems, fmt), nl=False)
    if fmt == "text":
        click.echo(summary(problems, len(files)), err=True)
    ctx.exit(EXIT_FINDINGS if failed(problems, config.section("lint")["strict"]) else 0)


@cli.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; list the files that would change and exit 1 if any.")
@click.pass_context
def fmt_command(ctx: click.Context, paths: tuple[Path, ...], check: bool) -> None:
    """Normalise leaves (indentation, key order, final newline), keeping comments and content."""
    from labtax.config import load_config
    from labtax.taxonomy.fmt import format_paths

    config = load_config()
    result = format_paths(list(paths) or [config.taxonomy_root], config, check=check)
    for path in result.changed:
        click.echo(f"{'would reformat' if check else 'reformatted'} {path}")
    for path, why in result.skipped:
        click.echo(f"{path}: {why}", err=True)
    ctx.exit(EXIT_FINDINGS if result.skipped or (check and result.changed) else 0)


@cli.command()
@click.argument("kind", type=click.Choice(["skill", "knowledge"]))
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def new(kind: str, path: Path) -> None:
    """Scaffold a leaf in PATH: qna.yaml and attribution.txt with <<placeholders>> to fill in."""
    from labtax.config import load_config
    from labtax.taxonomy.scaffold import new_leaf

    for file in new_leaf(kind, path, load_config()):
        click.echo(f"created {file}")
    click.echo(f"next: replace every <<placeholder>>, then run `labtax lint {path}`")


# ---- diff -------------------------------------------------------------------------------------


@cli.command()
@click.option("--base", metavar="REF", help="Compare with this ref or commit (through its merge-base with HEAD); "
              "'empty' lists every leaf. Default: default_base in labtax.yaml, else origin/main, else main.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(base: str | None, fmt: str) -> None:
    """List the leaves changed against a base ref (committed, staged, unstaged and untracked).

    Exit 0 with or without changes; 2 outside a git repository or when the base does not resolve.
    """
    from labtax.config import load_config
    from labtax.diff import change_set, format_json, format_text

    config = load_config()
    changes = change_set(config.root, base, config.data["taxonomy_root"])
    config.existing_taxonomy_root()  # after git's own checks: outside a repository says so first
    output = format_json(changes.leaves) if fmt == "json" else format_text(changes.leaves)
    if output:
        click.echo(output)
    if fmt == "text":  # on stderr: stdout stays the list of leaves, for scripts
        click.echo(f"compared with {changes.base}" + ("" if changes.leaves else ": no changed leaves"), err=True)


# ---- generate ---------------------------------------------------------------------------------


@cli.command()
@click.argument("leaves", nargs=-1, metavar="[LEAF]...")
@click.option("--base", metavar="REF", help="Generate for the leaves changed against REF (default: as `labtax diff`).")
@click.option("--all", "all_leaves", is_flag=True, help="Generate for every leaf of the taxonomy.")
@click.option("--teacher", metavar="embedded|URL", multiple=True,
              help="embedded (default) or an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1; repeat for several servers of one model.")
@click.option("--model", metavar="NAME", help="Model name for a server teacher (default: the first one it lists).")
@click.option("--num-instructions", type=click.IntRange(0), metavar="N", help=f"Candidates of the first round per leaf before filtering {default('generate.num_instructions')}.")
@click.option("--target", type=click.IntRange(0), metavar="N", help=f"Kept records wanted per leaf (rounds until met or the budget is spent) {default('generate.target_per_leaf')}.")
@click.option("--output", metavar="DIR", help=f"Output directory {default('generate.output')}.")
@click.option("--concurrency", type=click.IntRange(1), metavar="N", help=f"Teacher calls in flight at once, per server {default('generate.concurrency')}.")
@click.option("--seed", type=click.IntRange(0), metavar="S", help=f"Run seed (same inputs, seed and cache: same output) {default('generate.seed')}.")
@click.option("--dry-run", is_flag=True, help="Print the most teacher calls per leaf and stage, how many are cached, and an ETA; call nothing.")
@click.option("--allow-empty", is_flag=True, help="Exit 0 even when a selected leaf ends with zero records.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output of --dry-run.")
def generate(leaves: tuple[str, ...], base: str | None, all_leaves: bool, dry_run: bool, allow_empty: bool, fmt: str, **settings: object) -> None:
    """Generate synthetic data for changed leaves with a teacher model.

    \b
    Default selection: the leaves `labtax diff` reports (deleted leaves lose their outputs).
    Writes DIR/<leaf folder>.jsonl per leaf, DIR/manifest.json and DIR/generate.log.
    Exit 1 when a leaf failed, or ended with zero records (unless --allow-empty).
    """
    from labtax.generate import GenerateOptions
    from labtax.generate import generate as run_generate
    from labtax.generate.report import print_result

    if sum(map(bool, (leaves, all_leaves, base is not None))) > 1:
        raise click.UsageError("give at most one of --base, --all and LEAF arguments")
    options = GenerateOptions(leaves=leaves, all_leaves=all_leaves, base=base, dry_run=dry_run, **settings)  # type: ignore[arg-type]
    result = run_generate(options)
    if dry_run and fmt == "json":
        from labtax.generate.report import plan_json

        click.echo(plan_json(result.plan))
        return
    print_result(result)
    if result.failed:
        where = "listed above" if dry_run else f"see {result.output}/generate.log"
        raise LabtaxError(f"{len(result.failed)} leaf(s) failed; {where}", exit_code=EXIT_FINDINGS)
    if result.empty and not allow_empty:
        raise LabtaxError(f"{len(result.empty)} leaf(s) ended with zero records ({', '.join(result.empty)}); "
                          "raise --target or generate.max_candidates_per_leaf, or pass --allow-empty", exit_code=EXIT_FINDINGS)


# ---- rank -------------------------------------------------------------------------------------


@cli.command()
@click.argument("leaves", nargs=-1, metavar="[LEAF]...")
@click.option("--base", metavar="REF", help="Rank the leaves changed against REF (default: as `labtax diff`).")
@click.option("--all", "all_leaves", is_flag=True, help="Rank every leaf of the taxonomy.")
@click.option("--candidates", type=click.IntRange(2, 9), metavar="K", help=f"Candidate answers per question {default('rank.candidates')}.")
@click.option("--method", type=click.Choice(["pairs", "list"]), help=f"pairs: both orders of every pair, agreeing verdicts only; list: one ranking per question {default('rank.method')}.")
@click.option("--student", metavar="HF_DIR", help="Add a student checkpoint's greedy answers to the candidates [default: rank.student, none].")
@click.option("--teacher", metavar="embedded|URL", help="The ranker [default: rank.teacher, else generate.teacher].")
@click.option("--output", metavar="DIR", help=f"Output directory {default('rank.output')}.")
@click.option("--dry-run", is_flag=True, help="Print the leaves, questions, candidates and comparisons; call nothing.")
@click.option("--allow-empty", is_flag=True, help="Exit 0 even when a selected leaf has no generated records.")
def rank(leaves: tuple[str, ...], base: str | None, all_leaves: bool, dry_run: bool, allow_empty: bool, **settings: object) -> None:
    """Rank candidate answers under the constitution into preference pairs (reward model, DPO).

    \b
    Default selection: the leaves `labtax diff` reports; reads generate's output of each.
    Writes DIR/<leaf folder>.jsonl, DIR/{reward,dpo,val,test}.jsonl and DIR/manifest.json.
    Exit 1 when a leaf failed, or has no generated records (unless --allow-empty).
    """
    from labtax.rank.report import print_result
    from labtax.rank.run import RankOptions
    from labtax.rank.run import rank as run_rank

    if sum(map(bool, (leaves, all_leaves, base is not None))) > 1:
        raise click.UsageError("give at most one of --base, --all and LEAF arguments")
    result = run_rank(RankOptions(leaves=leaves, all_leaves=all_leaves, base=base, dry_run=dry_run, **settings))  # type: ignore[arg-type]
    print_result(result)
    if result.failed:
        raise LabtaxError(f"{len(result.failed)} leaf(s) failed (listed above)", exit_code=EXIT_FINDINGS)
    if result.empty and not allow_empty:
        raise LabtaxError(f"{len(result.empty)} leaf(s) have no generated records ({', '.join(result.empty)}); "
                          "run `labtax generate` for them first, or pass --allow-empty", exit_code=EXIT_FINDINGS)


# ---- report -----------------------------------------------------------------------------------


@cli.command()
@click.option("--input", "input_dir", type=click.Path(path_type=Path), help="Output folder of `labtax generate` [default: generate.output, generated/].")
@click.option("--output", "output_file", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write [default: report.html; with --format md: standard output].")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True)
@click.option("--since", metavar="REF_OR_MANIFEST", help="Show records added and removed per leaf since a git ref, an output folder or a manifest.json [default: none].")
@click.option("--run", "run_dir", type=click.Path(path_type=Path), help="A training run folder: its loss curves (and its eval.json) on a second page [default: none].")
@click.option("--eval", "eval_file", type=click.Path(dir_okay=False, path_type=Path), help="eval.json of `labtax eval` [default: in --run, else in --input].")
def report(input_dir: Path | None, output_file: Path | None, fmt: str, since: str | None, run_dir: Path | None, eval_file: Path | None) -> None:
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
    click.echo(f"wrote {result.path} ({len(result.text.encode()) / 1e6:.1f} MB): {t['records']} records, {t['dropped']} dropped, {t['leaves']} leaves", err=True)


# ---- mix / train ------------------------------------------------------------------------------


@cli.command()
@click.option("--input", "input_dir", type=click.Path(path_type=Path), help=f"Generated records {default('mix.input')}.")
@click.option("--output", "output_dir", type=click.Path(path_type=Path), help=f"Output folder {default('mix.output')}.")
@click.option("--seed", type=int, help=f"Seed of shuffles, splits and replay draws {default('mix.seed')}.")
@click.option("--tokenizer", help="Student tokenizer folder [default: mix.tokenizer, the embedded student].")
def mix(input_dir: Path | None, output_dir: Path | None, seed: int | None, tokenizer: str | None) -> None:
    """Split generated data into the KT/1, KT/2 and ST phases with replay."""
    from labtax.config import load_config
    from labtax.mix import mix as run_mix
    from labtax.train.report import mix_summary, mix_warnings

    stats = run_mix(load_config(), input_dir, output_dir, seed, tokenizer)
    click.echo(mix_summary(stats))
    for line in mix_warnings(stats):
        click.echo(line, err=True)


@cli.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Training config (YAML); default: schema defaults.")
@click.option("--phases", help="Comma-separated phases to run, e.g. kt2,st [default: schedule of the config, kt1,kt2,st].")
@click.option("--resume", is_flag=True, help="Continue the run in output_dir from its journal and last saved state.")
@click.option("--dry-run", is_flag=True, help="Print the plan per phase without loading the model.")
@click.option("--nproc", type=int, help="Processes on this machine [default: nproc of the config, 1].")
@click.option("--hostfile", type=click.Path(path_type=Path), help="DeepSpeed hostfile for several machines [default: none, this machine only].")
@click.option("--nnodes", type=int, help="Machines of a torchrun launch, each running this command [default: nnodes of the config, 1].")
@click.option("--node-rank", type=int, help="This machine's index, 0 to nnodes-1 [default: node_rank of the config, 0].")
@click.option("--master-addr", help="Address of node 0 (c10d rendezvous) [default: master_addr of the config].")
@click.option("--master-port", type=int, help="Rendezvous port on node 0 [default: master_port of the config].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value, e.g. phases.kt1.lr=1e-5 [default: none].")
@click.option("--restart-phase", metavar="PHASE", help="Resume, but run PHASE and the later phases again (with changed settings) [default: none].")
def train(config_path: Path | None, phases: str | None, resume: bool, dry_run: bool, nproc: int | None,
          hostfile: Path | None, overrides: tuple[str, ...], restart_phase: str | None, **launch: Any) -> None:
    """Tune a student phase by phase with DeepSpeed.

    With --resume and no --config/--set the run continues with its stored settings; with them, changes
    safe to continue with (selector, log_every, settings of phases not started) are taken, others refused.
    """
    from labtax.train.config import load_train_config
    from labtax.train.launch import train as run_train
    from labtax.train.report import train_summary

    schedule = [p.strip() for p in phases.split(",")] if phases else None
    config = load_train_config(config_path, list(overrides), nproc=nproc, schedule=schedule,
                               hostfile=str(hostfile) if hostfile else None, **launch)
    given = bool(config_path or overrides or nproc or hostfile)
    result = run_train(config, resume=resume, dry_run=dry_run, echo=click.echo, settings_given=given, restart_phase=restart_phase)
    click.echo(train_summary(result))


# ---- eval / chat ------------------------------------------------------------------------------


@cli.command("eval")
@click.option("--model", metavar="embedded|HF_DIR", help="Evaluate one model [default: embedded].")
@click.option("--run", "run_dir", type=click.Path(path_type=Path), help="Evaluate a training run: its base model and every phase's chosen checkpoint [default: none].")
@click.option("--input", "input_dir", type=click.Path(path_type=Path), help=f"Generate output holding eval/ {default('generate.output')}.")
@click.option("--sets", help="Comma-separated: knowledge,skills,seeds,benchmark [default: eval.sets, all four].")
@click.option("--judge", metavar="embedded|URL", help="Who grades answers [default: eval.judge, else generate.teacher].")
@click.option("--benchmark", type=click.Path(path_type=Path), help="Folder of MMLU-format files (*.jsonl, or question,A,B,C,D,answer *.csv) [default: none].")
@click.option("--shots", type=click.IntRange(0), help=f"Multiple-choice examples before each item {default('eval.shots')}.")
@click.option("--reward-model", type=click.Path(path_type=Path), help="A reward model (`labtax train`, reward phase): its test pair accuracy, and each model's reward deviation on the test prompts [default: none].")
@click.option("--preferences", type=click.Path(path_type=Path), help=f"`labtax rank` output holding test.jsonl, for --reward-model {default('rank.output')}.")
@click.option("--output", type=click.Path(path_type=Path), help=f"Where eval.json/md/png go: RUN_DIR/eval with --run, else {default('eval.output')}.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def eval_command(model: str | None, run_dir: Path | None, input_dir: Path | None, sets: str | None, judge: str | None,
                 benchmark: Path | None, shots: int | None, reward_model: Path | None, preferences: Path | None,
                 output: Path | None, fmt: str) -> None:
    """Score models on the evaluation sets: multiple choice, judged answers, BLEU/ROUGE.

    Writes eval.json, eval.md and eval.png; judge calls and answers are cached (a rerun is free).
    """
    from rich.console import Console

    from labtax.eval.report import summary_lines, summary_table
    from labtax.eval.run import EvalOptions, evaluate

    if model and run_dir:
        raise click.UsageError("give --model or --run, not both")
    chosen = tuple(s.strip() for s in sets.split(",") if s.strip()) if sets else None
    result = evaluate(EvalOptions(model=model, run=run_dir, input=input_dir, sets=chosen, judge=judge, output=output,
                                  benchmark=benchmark, shots=shots, reward_model=reward_model, preferences=preferences,
                                  show_progress=fmt == "text"))
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    Console().print(summary_table(result))
    for line in summary_lines(result):
        click.echo(line)


@cli.command()
@click.argument("prompt", required=False)
@click.option("--model", default="embedded", show_default=True, metavar="embedded|HF_DIR", help="The model to talk to.")
@click.option("--max-tokens", type=click.IntRange(1), default=256, show_default=True)
def chat(prompt: str | None, model: str, max_tokens: int) -> None:
    """Ask a model: one answer to PROMPT, or a conversation (empty line or Ctrl-D ends it)."""
    from labtax.eval.chat import converse

    converse(model, prompt, max_tokens, ask=lambda: click.prompt("you", default="", show_default=False), say=click.echo)


# ---- config / clean ----------------------------------------------------------------------------


@cli.command("config")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Override a setting as a flag would, e.g. generate.seed=7 [default: none].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config_command(settings: tuple[str, ...], fmt: str) -> None:
    """Print the effective labtax.yaml settings and where each came from (default, labtax.yaml, flag)."""
    import json

    from labtax.config import parse_sets, sources

    rows = sources(overrides=parse_sets(list(settings)))
    if fmt == "json":
        click.echo(json.dumps([{"key": k, "value": v, "source": s} for k, v, s in rows], indent=2))
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {json.dumps(value):<24}  {source}")


@cli.command()
@click.option("--runs", is_flag=True, help="Also remove the training runs under runs/ (checkpoints included).")
@click.option("--dry-run", is_flag=True, help="List what would be removed, with sizes; remove nothing.")
def clean(runs: bool, dry_run: bool) -> None:
    """Remove caches (teacher call cache, compiled DeepSpeed ops) and, with --runs, training runs."""
    from labtax.clean import remove, targets
    from labtax.config import load_config

    found = targets(load_config(), runs)
    for target in found:
        click.echo(f"{'would remove' if dry_run else 'removing'} {target.path} ({target.what}, {target.size / 1e6:.1f} MB)")
    if not dry_run:
        remove(found)
    total = sum(t.size for t in found) / 1e6
    click.echo(f"{'would free' if dry_run else 'freed'} {total:.1f} MB" if found else "nothing to remove", err=True)


def main() -> None:
    """Console entry point: user errors print one line; anything else is an internal error (exit 2)."""
    try:
        # Without standalone mode click returns (not raises) the code of a `ctx.exit(code)`.
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool):
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        _exit_at_once(130)
    except click.ClickException as exc:  # LabtaxError included
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        _exit_at_once(130)
    except OSError as exc:  # a machine's fault (full disk, read-only folder): one line naming the file
        error = os_error(exc)
        error.show()
        sys.exit(error.exit_code)
    except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
        click.echo(f"internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(0)


def _exit_at_once(code: int) -> None:
    """Leave without the interpreter's teardown: after Ctrl-C a worker thread may still be inside
    torch (loading the embedded model, one decoding step), and tearing torch down under it aborts
    or waits. Everything the run keeps is already on disk (atomic files, committed cache rows)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
