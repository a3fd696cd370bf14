"""Every training option, defined once: schemas/train.schema.json holds names, types and defaults;
this module turns a YAML file plus command-line overrides into frozen dataclasses."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from labtax.config import parse_override
from labtax.errors import ConfigError
from labtax.phases import LAB_PHASES, STACKED, TRAIN_PHASES
from labtax.schemas import apply_defaults, load_schema, non_finite, validator

SCHEMA = "train.schema.json"
PATH_KEYS = ("data_dir", "preferences_dir", "output_dir", "hostfile", "benchmark")
# The phases in the order they chain: LAB's three supervised phases, then the preference phases.
OBJECTIVES = ("sft", "reward", "dpo")
# what can choose a reward model's epoch (it writes no text to score)
PAIR_SELECTORS = ("pair_accuracy", "val_loss", "last")


@dataclass(frozen=True)
class PhaseConfig:
    """Settings of one phase (`defaults` merged with `phases.<name>`)."""

    name: str
    lr: float
    epochs: int
    warmup_steps: int
    scheduler: str
    effective_batch_size: int
    max_seq_len: int
    micro_batch_tokens: int | None
    zero_stage: int
    offload: str
    weight_decay: float
    max_grad_norm: float
    objective: str = "sft"
    model: str | None = None  # start here instead of the chain's checkpoint
    dpo_beta: float = 0.1
    reward_l2: float = 0.001
    selector: str | dict[str, float] | None = None  # None: the run's selector

    @property
    def budget(self) -> int:
        """Token budget of one packed micro-batch."""
        return self.micro_batch_tokens or self.max_seq_len


@dataclass(frozen=True)
class TrainConfig:
    """A resolved training configuration; paths are absolute."""

    model: str
    data_dir: str
    output_dir: str
    schedule: list[str]
    seed: int
    precision: str
    attn_implementation: str
    gradient_checkpointing: bool
    pad_to_multiple_of: int
    nproc: int
    hostfile: str | None
    launcher: str
    master_port: int | None
    engine: str
    nnodes: int
    node_rank: int
    master_addr: str | None
    selector: str | dict[str, float]
    eval_items: int
    benchmark: str | None
    keep_optimizer_states: int
    eval_at_start: bool
    log_every: int
    phases: dict[str, PhaseConfig]
    keep: str = "best"  # checkpoints left when a phase ends: best or all
    preferences_dir: str = "preferences"

    def selector_of(self, phase: str) -> str | dict[str, float]:
        """The phase's own selector, else the run's; a reward model is chosen by validation pair
        accuracy unless its phase names another selector that needs no generated text."""
        p = self.phases[phase]
        if p.objective == "reward":
            return p.selector or "pair_accuracy"
        return p.selector or self.selector

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        phases = {name: PhaseConfig(**p) for name, p in data["phases"].items()}
        return cls(**{**data, "phases": phases})


def _merge(raw: dict[str, Any], keys: list[str], value: Any) -> None:
    node = raw
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {'.'.join(keys)}: {key} is not a section")
    node[keys[-1]] = value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the training config ({exc.strerror})") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return data or {}


def load_train_config(
    path: Path | None, overrides: list[str] = (), base: Path | None = None, **options: Any
) -> TrainConfig:
    """Read `path` (None: all defaults), apply `--set` overrides then explicit `options`
    (e.g. nproc=2 from the CLI), validate against the schema and resolve paths against `base`."""
    raw = _read_yaml(path) if path is not None else {}
    for item in overrides:
        _merge(raw, *parse_override(item))
    raw.update({k: v for k, v in options.items() if v is not None})
    errors = sorted(validator(SCHEMA).iter_errors(raw), key=lambda e: list(e.absolute_path))
    where = path or "train config"
    lines = [f"{where}: {'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors]
    lines += [f"{where}: {key}: not a finite number (NaN or infinity)" for key in non_finite(raw)]
    if lines:
        raise ConfigError("invalid training configuration\n" + "\n".join(lines))
    data = apply_defaults(load_schema(SCHEMA), raw)
    base = (base or Path.cwd()).resolve()
    for key in PATH_KEYS:
        if data[key] is not None:
            data[key] = str((base / data[key]).resolve())
    if data["model"] != "embedded":
        data["model"] = str((base / data["model"]).resolve())
    _check_stacked(data["schedule"], where)
    if data["schedule"] != sorted(data["schedule"], key=TRAIN_PHASES.index):
        # each phase starts from the one before it in the LAB order, so the phases run in that order
        raise ConfigError(
            f"schedule {data['schedule']} is out of order; phases run in the order {', '.join(TRAIN_PHASES)}"
        )
    _check_launch(data)
    phases = {name: _phase(name, data, base) for name in TRAIN_PHASES}
    return _build(data, phases)


def _check_stacked(schedule: list[str], where: Any) -> None:
    """A stacked run is the alternative to the LAB phases (it trains on their data at once), not a
    phase of them: one schedule holds one or the other."""
    lab = [p for p in schedule if p in LAB_PHASES]
    if STACKED in schedule and lab:
        raise ConfigError(
            f"{where}: schedule: {STACKED} trains on the data of {', '.join(LAB_PHASES)} at once and "
            f"replaces them; drop {', '.join(lab)} (schedule [{STACKED}], optionally then reward, dpo) "
            f"or drop {STACKED}"
        )


def _check_launch(data: dict[str, Any]) -> None:
    """Launch settings that contradict each other, caught before anything starts."""
    if data["nnodes"] > 1:
        if data["hostfile"]:
            raise ConfigError("nnodes and hostfile are two ways to use several machines; give one of them")
        if not data["master_addr"] or not data["master_port"]:
            raise ConfigError(
                f"nnodes {data['nnodes']} needs master_addr and master_port "
                "(node 0's address and a free port)"
            )
    if data["node_rank"] >= data["nnodes"]:
        raise ConfigError(f"node_rank {data['node_rank']} must be below nnodes {data['nnodes']}")
    if data["engine"] == "torch" and (data["nproc"] > 1 or data["nnodes"] > 1 or data["hostfile"]):
        raise ConfigError("engine torch runs one process; use engine deepspeed (or auto) for several")


def _build(data: dict[str, Any], phases: dict[str, PhaseConfig]) -> TrainConfig:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in data.items() if k in fields and k != "phases"}, phases=phases)


def _phase(name: str, data: dict[str, Any], base: Path) -> PhaseConfig:
    merged = {**data["defaults"], **data["phases"].get(name, {})}
    merged["objective"] = merged.get("objective") or (name if name in OBJECTIVES else "sft")
    if merged.get("model"):
        merged["model"] = str((base / merged["model"]).resolve())
    phase = PhaseConfig(name=name, **merged)
    selector = phase.selector
    if (
        phase.objective == "reward"
        and selector is not None
        and (isinstance(selector, dict) or selector in ("mcq", "judge"))
    ):
        raise ConfigError(
            f"phases.{name}.selector {selector!r}: a reward model writes no answers to score; "
            f"use {', '.join(PAIR_SELECTORS)} or module:function"
        )
    if phase.budget < phase.max_seq_len:
        raise ConfigError(
            f"phases.{name}.micro_batch_tokens ({phase.budget}) must be at least "
            f"max_seq_len ({phase.max_seq_len}): a micro-batch has to hold the longest sample"
        )
    return phase


def dump(config: TrainConfig) -> str:
    return json.dumps(config.to_json(), indent=2)
