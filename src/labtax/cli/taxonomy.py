"""labtax lint, fmt, new and diff: the taxonomy and what changed in it.

Each command imports the library behind it when it runs, so `labtax --help` and the light commands
never load torch or the other stages."""

from __future__ import annotations

import os
from pathlib import Path

import click

from labtax.cli.group import cli
from labtax.errors import EXIT_FINDINGS

# ---- lint / fmt / new (issue: taxonomy foundation) -------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--changed", is_flag=True, help="Lint only the leaves `labtax diff` reports (deleted ones skipped)."
)
@click.option("--base", metavar="REF", help="Base ref for --changed (default: as `labtax diff`).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    help="Output format [default: text; github when GITHUB_ACTIONS=true].",
)
@click.option(
    "--profile",
    type=click.Choice(["labtax", "instructlab"]),
    help="Rule profile [default: from labtax.yaml, else labtax].",
)
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--list-rules", is_flag=True, help="Print the rules table and exit.")
@click.pass_context
def lint(
    ctx: click.Context,
    paths: tuple[Path, ...],
    changed: bool,
    base: str | None,
    fmt: str | None,
    profile: str | None,
    strict: bool,
    list_rules: bool,
) -> None:
    """Check taxonomy leaves: every leaf by default, or PATH... (files or folders).

    Exit 0 without errors (warnings allowed unless --strict), 1 with errors, 2 on usage errors.
    """

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
@click.option(
    "--check", is_flag=True, help="Change nothing; list the files that would change and exit 1 if any."
)
@click.pass_context
def fmt_command(ctx: click.Context, paths: tuple[Path, ...], check: bool) -> None:
    """Normalise leaves (indentation, key order, final newline), keeping comments and content."""
    from labtax.config import load_config
    from labtax.lint.fmt import format_paths

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
@click.option(
    "--base",
    metavar="REF",
    help="Compare with this ref or commit (through its merge-base with HEAD); "
    "'empty' lists every leaf. Default: default_base in labtax.yaml, else origin/main, else main.",
)
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
        click.echo(
            f"compared with {changes.base}" + ("" if changes.leaves else ": no changed leaves"), err=True
        )
