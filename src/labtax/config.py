"""labtax.yaml: find it, validate it against schemas/config.schema.json, fill defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from labtax.errors import ConfigError
from labtax.schemas import apply_defaults, load_schema, non_finite, validator

CONFIG_NAME = "labtax.yaml"
SCHEMA = "config.schema.json"


@dataclass(frozen=True)
class Config:
    """The validated project configuration; `data` has every default filled in."""

    root: Path  # repository root (the folder holding labtax.yaml, or the git top level)
    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the labtax.yaml read, if any

    @property
    def taxonomy_root(self) -> Path:
        return self.root / self.data["taxonomy_root"]

    def existing_taxonomy_root(self) -> Path:
        """The taxonomy root, which must exist: a run over a missing one would do nothing and succeed."""
        if not self.taxonomy_root.is_dir():
            raise ConfigError(
                f"the taxonomy root {self.taxonomy_root} does not exist "
                f"(taxonomy_root in {self.path or CONFIG_NAME})"
            )
        return self.taxonomy_root

    @property
    def prompts_dir(self) -> Path | None:
        """generate.prompts_dir resolved against the root: a user's own prompt templates (None: the
        bundled ones)."""
        folder = self.section("generate").get("prompts_dir")
        return (self.root / folder).resolve() if folder else None

    def section(self, name: str) -> dict[str, Any]:
        """One section ("lint", "generate", "mix") with its defaults filled."""
        return self.data[name]


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding labtax.yaml or .git; else `start`."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file() or (folder / ".git").exists():
            return folder
    return start


def load_config(root: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read labtax.yaml under `root` (found upwards from the cwd when None).

    `overrides` (e.g. from CLI flags) are merged per section before validation.
    Raises ConfigError with a located message when the file is not valid.
    """
    root = find_root(root)
    path = root / CONFIG_NAME
    raw = read_file(path)
    raw = merge(raw, overrides or {})
    errors = sorted(validator(SCHEMA).iter_errors(raw), key=lambda e: list(e.absolute_path))
    lines = [f"{_origin(path, list(e.absolute_path), overrides or {})}: {e.message}" for e in errors]
    lines += [
        f"{_origin(path, key.split('.'), overrides or {})}: not a finite number (NaN or infinity)"
        for key in non_finite(raw)
    ]
    if lines:
        raise ConfigError("invalid configuration\n" + "\n".join(lines))
    return Config(
        root=root, data=apply_defaults(load_schema(SCHEMA), raw), path=path if path.is_file() else None
    )


def _origin(path: Path, keys: list[Any], overrides: dict[str, Any]) -> str:
    """Where a bad value came from: a command-line option (overrides win) or the file's key."""
    dotted = ".".join(map(str, keys)) or "(top level)"
    node: Any = overrides
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return f"{path}: {dotted}"
        node = node[key]
    return f"option --{str(keys[-1]).replace('_', '-')} ({dotted})"


def read_file(path: Path) -> dict[str, Any]:
    """The settings written in labtax.yaml (no defaults); {} when there is no file."""
    if not path.is_file():
        return {}
    try:
        loaded = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return loaded or {}


def sources(root: Path | None = None, overrides: dict[str, Any] | None = None) -> list[tuple[str, Any, str]]:
    """Every effective setting as (dotted key, value, where it came from: "flag", "labtax.yaml" or
    "default"), in the schema's order."""
    config = load_config(root, overrides)
    written, flags = flatten(read_file(config.root / CONFIG_NAME)), flatten(overrides or {})
    order = list(schema_defaults())
    rows = [
        (key, value, "flag" if key in flags else CONFIG_NAME if key in written else "default")
        for key, value in flatten(config.data).items()
    ]
    return sorted(rows, key=lambda row: order.index(row[0]) if row[0] in order else len(order))


def schema_defaults() -> dict[str, Any]:
    """Every labtax.yaml default by dotted key, from the schema."""
    return flatten(apply_defaults(load_schema(SCHEMA), {}))


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b.c=VALUE` -> (["a", "b", "c"], VALUE parsed as a YAML scalar or flow value)."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. --set phases.kt1.lr=1e-5")
    try:
        parsed = YAML(typ="safe").load(value)
    except YAMLError:
        parsed = value
    return key.split("."), parsed


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` items (dotted keys, YAML values) as overrides for load_config."""
    overrides: dict[str, Any] = {}
    for item in items:
        keys, value = parse_override(item)
        overrides = merge(overrides, unflatten(".".join(keys), value))
    return overrides


def merge(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`raw` with `overrides` merged in, section by section at every depth."""
    out = dict(raw)
    for key, value in overrides.items():
        current = out.get(key)
        if isinstance(value, dict) and current is not None and not isinstance(current, dict):
            continue  # the file's value is not a section: validation reports it
        out[key] = merge(current or {}, value) if isinstance(value, dict) else value
    return out


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"lint": {"strict": true}} -> {"lint.strict": true}; lists and scalars are values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def unflatten(key: str, value: Any) -> dict[str, Any]:
    """ "generate.seed", 7 -> {"generate": {"seed": 7}} (an override for load_config)."""
    for part in reversed(key.split(".")):
        value = {part: value}
    return value
