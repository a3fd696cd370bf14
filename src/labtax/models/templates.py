"""Prompt templates: one sandboxed Jinja environment over a prompts directory.

Leaf content only ever enters a template as a variable's value, and Jinja never evaluates
values, so a seed example holding `{{ 7*7 }}` reaches the teacher verbatim. The sandbox
keeps a user's own prompts directory from reaching Python internals.
A template may set `reply_prefix`: the text the teacher's reply is forced to start with, and
`reply_tags`: the "Tag:" sections the reply must hold (a server with JSON-schema output is asked
for exactly these fields).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from labtax.errors import LabtaxError
from labtax.resources import data_dir

# What a template's own expressions can raise while rendering (a user's prompts_dir is code we run).
TEMPLATE_FAULTS = (ArithmeticError, TypeError, ValueError, LookupError, RecursionError, MemoryError)


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt and the prefix its reply must start with."""

    text: str
    prefix: str
    tags: tuple[str, ...] = ()  # the "Tag:" sections the reply must hold (template variable reply_tags)


class Templates:
    """render(stage, **fields) and hash(stage) over `folder` (default: the bundled prompts/)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else data_dir("prompts")
        if not self.folder.is_dir():
            raise LabtaxError(
                f"prompts directory {self.folder} does not exist (generate.prompts_dir in labtax.yaml)"
            )
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(self.folder),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._hashes: dict[str, str] = {}

    def render(self, stage: str, **fields: Any) -> Rendered:
        """The prompt of `stage` (prompts/<stage>.j2) filled with `fields`."""
        try:
            module = self.env.get_template(f"{stage}.j2").make_module(fields)
        except TemplateError as exc:
            raise LabtaxError(f"prompt template {self.folder / (stage + '.j2')}: {exc}") from None
        except (
            TEMPLATE_FAULTS
        ) as exc:  # the template's own code failed, e.g. a range over the sandbox's limit
            raise LabtaxError(
                f"prompt template {self.folder / (stage + '.j2')}: {type(exc).__name__}: {exc}"
            ) from None
        return Rendered(
            str(module).strip() + "\n",
            str(getattr(module, "reply_prefix", "")),
            tuple(getattr(module, "reply_tags", ())),
        )

    def hash(self, stage: str) -> str:
        """sha256 of the stage's template source and of every template it includes or extends."""
        if stage not in self._hashes:
            digest = hashlib.sha256()
            for name in self._closure(f"{stage}.j2"):
                digest.update(name.encode() + b"\0" + self._source(name).encode() + b"\0")
            self._hashes[stage] = digest.hexdigest()
        return self._hashes[stage]

    def _closure(self, name: str) -> list[str]:
        seen: list[str] = []
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.append(current)
            ast = self.env.parse(self._source(current))
            pending.extend(ref for ref in meta.find_referenced_templates(ast) if ref)
        return sorted(seen)

    def _source(self, name: str) -> str:
        try:
            return self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
        except TemplateError as exc:
            raise LabtaxError(f"prompt template {self.folder / name} not found ({exc})") from None
