"""The `labtax` command: a thin click layer. Each command parses its options, calls one
library function, prints through a formatter and maps the result to an exit code
(codes are defined in labtax.errors)."""

from __future__ import annotations

import sys

import click

from labtax import __version__
from labtax.errors import EXIT_USAGE, LabtaxError


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
def lint() -> None:
    """Check taxonomy leaves."""
    raise LabtaxError("lint: not built yet")


# ---- diff -------------------------------------------------------------------------------------


@cli.command()
def diff() -> None:
    """List the leaves changed against a base ref."""
    raise LabtaxError("diff: not built yet")


# ---- generate ---------------------------------------------------------------------------------


@cli.command()
def generate() -> None:
    """Generate synthetic data for changed leaves with a teacher model."""
    raise LabtaxError("generate: not built yet")


# ---- mix / train ------------------------------------------------------------------------------


@cli.command()
def mix() -> None:
    """Split generated data into the KT/1, KT/2 and ST phases with replay."""
    raise LabtaxError("mix: not built yet")


@cli.command()
def train() -> None:
    """Tune a student phase by phase with DeepSpeed."""
    raise LabtaxError("train: not built yet")


def main() -> None:
    """Console entry point: user errors print one line; anything else is an internal error (exit 2)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # LabtaxError included
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
        click.echo(f"internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(0)


