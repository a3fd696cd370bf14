"""The `labtax` command: a thin click layer. Each command parses its options, calls one
library function, prints through a formatter and maps the result to an exit code
(codes are defined in labtax.errors)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from labtax import __version__
from labtax.errors import EXIT_FINDINGS, EXIT_USAGE, LabtaxError, os_error


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="labtax")
def cli() -> None:
    """labtax: taxonomy-driven alignment with the LAB method.

    \b
    Pipeline:  labtax lint -> labtax diff -> labtax generate -> labtax mix -> labtax train
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
    from labtax.diff import changed_leaves, format_json, format_text

    config = load_config()
    changes = changed_leaves(config.root, base, config.data["taxonomy_root"])
    config.existing_taxonomy_root()  # after git's own checks: outside a repository says so first
    output = format_json(changes) if fmt == "json" else format_text(changes)
    if output:
        click.echo(output)


# ---- generate ---------------------------------------------------------------------------------


@cli.command()
@click.argument("leaves", nargs=-1, metavar="[LEAF]...")
@click.option("--base", metavar="REF", help="Generate for the leaves changed against REF (default: as `labtax diff`).")
@click.option("--all", "all_leaves", is_flag=True, help="Generate for every leaf of the taxonomy.")
@click.option("--teacher", metavar="embedded|URL", help="embedded (default) or an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@click.option("--model", metavar="NAME", help="Model name for a server teacher (default: the first one it lists).")
@click.option("--num-instructions", type=click.IntRange(0), metavar="N", help="Candidates generated per leaf before filtering.")
@click.option("--output", metavar="DIR", help="Output directory (default: generated/).")
@click.option("--concurrency", type=click.IntRange(1), metavar="N", help="Teacher calls in flight at once.")
@click.option("--seed", type=click.IntRange(0), metavar="S", help="Run seed (same inputs, seed and cache: same output).")
@click.option("--dry-run", is_flag=True, help="Print the planned teacher calls per leaf and stage; call nothing.")
def generate(leaves: tuple[str, ...], base: str | None, all_leaves: bool, dry_run: bool, **settings: object) -> None:
    """Generate synthetic data for changed leaves with a teacher model.

    \b
    Default selection: the leaves `labtax diff` reports (deleted leaves lose their outputs).
    Writes DIR/<leaf folder>.jsonl per leaf, DIR/manifest.json and DIR/generate.log.
    """
    from labtax.generate import GenerateOptions
    from labtax.generate import generate as run_generate
    from labtax.generate.report import print_result

    if sum(map(bool, (leaves, all_leaves, base is not None))) > 1:
        raise click.UsageError("give at most one of --base, --all and LEAF arguments")
    options = GenerateOptions(leaves=leaves, all_leaves=all_leaves, base=base, dry_run=dry_run, **settings)  # type: ignore[arg-type]
    result = run_generate(options)
    print_result(result)
    if result.failed:
        where = "listed above" if dry_run else f"see {result.output}/generate.log"
        raise LabtaxError(f"{len(result.failed)} leaf(s) failed; {where}", exit_code=EXIT_FINDINGS)


# ---- mix / train ------------------------------------------------------------------------------


@cli.command()
@click.option("--input", "input_dir", type=click.Path(path_type=Path), help="Generated records [mix.input: generated/].")
@click.option("--output", "output_dir", type=click.Path(path_type=Path), help="Output folder [mix.output: data/].")
@click.option("--seed", type=int, help="Seed of shuffles, splits and replay draws [mix.seed: 42].")
@click.option("--tokenizer", help="Student tokenizer folder [mix.tokenizer: the embedded student].")
def mix(input_dir: Path | None, output_dir: Path | None, seed: int | None, tokenizer: str | None) -> None:
    """Split generated data into the KT/1, KT/2 and ST phases with replay."""
    from labtax.config import load_config
    from labtax.mix import mix as run_mix
    from labtax.train.report import mix_summary

    click.echo(mix_summary(run_mix(load_config(), input_dir, output_dir, seed, tokenizer)))


@cli.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Training config (YAML); default: schema defaults.")
@click.option("--phases", help="Comma-separated phases to run, e.g. kt2,st [schedule: kt1,kt2,st].")
@click.option("--resume", is_flag=True, help="Continue the run in output_dir from its journal and last saved state.")
@click.option("--dry-run", is_flag=True, help="Print the plan per phase without loading the model.")
@click.option("--nproc", type=int, help="Processes on this machine [nproc: 1].")
@click.option("--hostfile", type=click.Path(path_type=Path), help="DeepSpeed hostfile for several machines.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value, e.g. phases.kt1.lr=1e-5.")
@click.option("--restart-phase", metavar="PHASE", help="Resume, but run PHASE and the later phases again (with changed settings).")
def train(config_path: Path | None, phases: str | None, resume: bool, dry_run: bool, nproc: int | None,
          hostfile: Path | None, overrides: tuple[str, ...], restart_phase: str | None) -> None:
    """Tune a student phase by phase with DeepSpeed.

    With --resume and no --config/--set the run continues with its stored settings; with them, changes
    safe to continue with (selector, log_every, settings of phases not started) are taken, others refused.
    """
    from labtax.train.config import load_train_config
    from labtax.train.launch import train as run_train
    from labtax.train.report import train_summary

    schedule = [p.strip() for p in phases.split(",")] if phases else None
    config = load_train_config(config_path, list(overrides), nproc=nproc, schedule=schedule,
                               hostfile=str(hostfile) if hostfile else None)
    given = bool(config_path or overrides or nproc or hostfile)
    result = run_train(config, resume=resume, dry_run=dry_run, echo=click.echo, settings_given=given, restart_phase=restart_phase)
    click.echo(train_summary(result))


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
