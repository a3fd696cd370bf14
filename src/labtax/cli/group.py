"""The `labtax` command group, and the help text's defaults read from the schema."""

from __future__ import annotations

import click

from labtax import __version__
from labtax.config import schema_defaults

# `labtax --help` lists the commands in pipeline order, not alphabetically (any other command last).
ORDER = (
    "lint",
    "fmt",
    "new",
    "diff",
    "generate",
    "rank",
    "report",
    "mix",
    "train",
    "eval",
    "chat",
    "config",
    "clean",
)


def default(key: str) -> str:
    """`[default: VALUE]` for a labtax.yaml setting, read from the schema (the one source of defaults)."""
    value = schema_defaults()[key]
    return f"[default: {key} = {value}]"


class PipelineGroup(click.Group):
    """Lists commands in pipeline order (ORDER), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))


@click.group(
    cls=PipelineGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="labtax")
def cli() -> None:
    """labtax: taxonomy-driven alignment with the LAB method.

    \b
    Pipeline:  labtax lint -> diff -> generate -> rank -> report -> mix -> train -> eval
    Exit codes: 0 ok, 1 findings or failed work, 2 usage, configuration or internal error.
    """
