"""The `labtax` command: a thin click layer. Each command parses its options, calls one
library function, prints through a formatter and maps the result to an exit code
(codes are defined in labtax.errors).

The commands live in one module per pipeline part; importing them registers them on the group in
pipeline order (the order `labtax --help` lists them).
"""

from __future__ import annotations

import os
import sys

import click

from labtax.cli import data, settings, taxonomy, training  # noqa: F401 - importing registers the commands
from labtax.cli.group import cli
from labtax.errors import EXIT_USAGE, os_error

__all__ = ["cli", "main"]


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
