"""labtax config and clean: the settings in force, and what labtax can remove.

Each command imports the library behind it when it runs, so `labtax --help` and the light commands
never load torch or the other stages."""

from __future__ import annotations

import json

import click

from labtax.cli.group import cli

# ---- config / clean ----------------------------------------------------------------------------


@cli.command("config")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a setting as a flag would, e.g. generate.seed=7 [default: none].",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config_command(settings: tuple[str, ...], fmt: str) -> None:
    """Print the effective labtax.yaml settings and where each came from (default, labtax.yaml, flag)."""

    from labtax.config import parse_sets, sources

    rows = sources(overrides=parse_sets(list(settings)))
    if fmt == "json":
        click.echo(json.dumps([{"key": k, "value": v, "source": s} for k, v, s in rows], indent=2))
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {json.dumps(value):<24}  {source}")


@cli.command()
@click.option(
    "--runs", is_flag=True, help="Also remove the training runs under runs/ (checkpoints included)."
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, with sizes; remove nothing.")
def clean(runs: bool, dry_run: bool) -> None:
    """Remove caches (teacher call cache, compiled DeepSpeed ops) and, with --runs, training runs."""
    from labtax.clean import remove, targets
    from labtax.config import load_config

    found = targets(load_config(), runs)
    for target in found:
        click.echo(
            f"{'would remove' if dry_run else 'removing'} {target.path} "
            f"({target.what}, {target.size / 1e6:.1f} MB)"
        )
    if not dry_run:
        remove(found)
    total = sum(t.size for t in found) / 1e6
    click.echo(
        f"{'would free' if dry_run else 'freed'} {total:.1f} MB" if found else "nothing to remove", err=True
    )
