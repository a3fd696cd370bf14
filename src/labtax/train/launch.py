"""`labtax train`: the launcher. Config -> plan -> one launch running the remaining phases.

Every process runs `python -m labtax.train.worker RUN_DIR PHASE... [--scorer MODULE:NAME]` under
torchrun (one machine) or the deepspeed launcher (a hostfile, or `launcher: deepspeed`). Between
phases rank 0 picks the phase's checkpoint with the selector and records it in the journal; the next
phase starts from it (labtax.train.schedule). Selectors that compare scores need a scorer: the
caller passes one in (`labtax train` passes eval's) and the workers import it by name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from labtax.errors import EXIT_FINDINGS, LabtaxError, MissingExtraError
from labtax.files import file_sha256, torch_extensions_dir, write_text_atomic
from labtax.mix import check_mix
from labtax.models.embedded import embedded_model_dir
from labtax.train import journal
from labtax.train.config import TrainConfig
from labtax.train.data import phase_files
from labtax.train.plan import PhasePlan, make_plan, plan_json, world_size
from labtax.train.plot import plot_losses
from labtax.train.schedule import Scorer, reward_model, starting_point

WORKER = "labtax.train.worker"


def model_dir(config: TrainConfig) -> str:
    if config.model == "embedded":
        return str(embedded_model_dir())
    if not (Path(config.model) / "config.json").is_file():
        raise LabtaxError(f"{config.model}: not a Hugging Face model folder (no config.json)")
    return config.model


def command(config: TrainConfig, run_dir: Path, phases: list[str], scorer: Scorer | None = None) -> list[str]:
    """The launcher command line for `phases`; the same worker module in every case."""
    worker = [WORKER, str(run_dir), *phases, *(["--scorer", callable_name(scorer)] if scorer else [])]
    if config.hostfile or config.launcher == "deepspeed":
        cmd = [sys.executable, "-m", "deepspeed.launcher.runner"]
        if config.hostfile:
            cmd += ["--hostfile", config.hostfile]
        else:
            cmd += ["--num_nodes", "1", "--num_gpus", str(config.nproc)]
        if config.master_port:
            cmd += ["--master_port", str(config.master_port)]
        return [*cmd, "--module", *worker]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        str(config.nnodes),
        "--nproc-per-node",
        str(config.nproc),
    ]
    if config.nnodes > 1:
        # c10d rendezvous on node 0; the run folder names the job so two runs never meet.
        cmd += [
            "--node-rank",
            str(config.node_rank),
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            f"{config.master_addr}:{config.master_port}",
            "--rdzv-id",
            run_id(run_dir),
        ]
    elif config.master_port:
        cmd += ["--master-addr", "127.0.0.1", "--master-port", str(config.master_port)]
    else:
        cmd += ["--standalone"]  # a free port, chosen by torchrun
    return [*cmd, "-m", *worker]


def callable_name(function: Scorer) -> str:
    """`module:name` of a module-level function: how a callable crosses into the worker processes."""
    return f"{function.__module__}:{function.__qualname__}"


def run_id(run_dir: Path) -> str:
    return hashlib.sha256(str(run_dir).encode()).hexdigest()[:16]


def data_hashes(config: TrainConfig) -> dict[str, str]:
    """sha256 of every file the schedule trains or validates on, by name (`labtax rank` files as
    preferences/NAME), so a resumed run can refuse data that changed under it."""
    files = {f: p for p in config.schedule for f in phase_files(config, p)}
    return {_data_name(config, f, p): file_sha256(f) for f, p in files.items() if f.is_file()}


def _data_name(config: TrainConfig, file: Path, phase: str) -> str:
    return file.name if config.phases[phase].objective == "sft" else f"preferences/{file.name}"


def _taxonomy_commit(config: TrainConfig) -> str | None:
    stats = Path(config.data_dir) / "mix.json"
    return json.loads(stats.read_text(encoding="utf-8")).get("taxonomy_commit") if stats.is_file() else None


def _new_journal(config: TrainConfig, student: str) -> dict[str, Any]:
    return {"model": student, "taxonomy_commit": _taxonomy_commit(config), "data": {}, "phases": {}}


def start_journal(
    config: TrainConfig, run_dir: Path, student: str, plans: list[PhasePlan], resume: bool
) -> dict[str, Any]:
    """A new journal, or the existing one checked against the data it was started with."""
    hashes = data_hashes(config)
    if journal.path(run_dir).is_file():
        data = journal.read(run_dir)
        started = [
            p for p in config.schedule if data["phases"].get(p, {}).get("status", "pending") != "pending"
        ]
        if not resume and started:
            raise LabtaxError(
                f"{run_dir} already holds a run (phases {', '.join(started)}); pass --resume to continue it, "
                f"--restart-phase {started[-1]} to run that phase again with new settings, "
                "or another output_dir"
            )
        if not started:  # an earlier launch died before training anything: start afresh
            data = _new_journal(config, student)
        changed = sorted(n for n, h in hashes.items() if data["data"].get(n, h) != h)
        if changed:
            raise LabtaxError(
                f"{', '.join(changed)} changed since this run started; start a new run (another output_dir)"
            )
    elif resume:
        raise LabtaxError(f"{run_dir}: nothing to resume (no {journal.NAME})")
    else:
        data = _new_journal(config, student)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / journal.CONFIG, json.dumps(config.to_json(), indent=2) + "\n")
    data.update(config=config.to_json(), schedule=config.schedule, world_size=world_size(config))
    data["data"].update(hashes)
    for plan in plans:
        data["phases"].setdefault(plan.phase, {"status": "pending", "epochs": []})["plan"] = plan_json(
            [plan]
        )[0]
    journal.write(run_dir, data)
    return data


def train(
    config: TrainConfig,
    resume: bool = False,
    dry_run: bool = False,
    echo: Any = print,
    settings_given: bool = True,
    restart_phase: str | None = None,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Run (or, with dry_run, only plan) the schedule; returns the journal (or the plan).

    On --resume the run continues with the settings it started with, unless `settings_given`
    (a config file or overrides): then changes that are safe to continue with are taken, the
    others refused with their list. `restart_phase` runs that phase and the later ones again.
    `scorer` scores epoch checkpoints for the selectors that compare scores (mcq, judge, benchmark)."""
    if not dry_run and importlib.util.find_spec("deepspeed") is None:
        raise MissingExtraError("train", "labtax train")
    run_dir = Path(config.output_dir)
    if restart_phase is not None:
        resume = True
        if not dry_run:
            restart_from(run_dir, restart_phase)
    if resume and (run_dir / journal.CONFIG).is_file():
        config = resumed_config(
            TrainConfig.from_json(journal.read_config(run_dir)), config, journal.read(run_dir), settings_given
        )
    if any(config.phases[p].objective == "sft" for p in config.schedule):
        check_mix(Path(config.data_dir))
    student = model_dir(config)
    plans = make_plan(config, student)
    if not any(plan.samples for plan in plans):
        raise LabtaxError(
            f"phases {', '.join(config.schedule)} have no training samples; nothing to train "
            "(run `labtax mix`, and `labtax rank` for reward and dpo)",
            EXIT_FINDINGS,
        )
    if dry_run:
        return {
            "plan": plan_json(plans),
            "command": command(config, run_dir, config.schedule, scorer),
            "world_size": world_size(config),
        }
    if config.node_rank > 0:
        return join_launch(config, run_dir, student, echo, scorer)
    data = start_journal(config, run_dir, student, plans, resume)
    todo = [p for p in config.schedule if data["phases"][p]["status"] not in ("done", "skipped")]
    if todo:
        # Every node must hand its workers the same phases; the others cannot read a journal yet.
        launch(config, run_dir, todo if config.nnodes == 1 else config.schedule, echo, scorer)
    return finish(config, run_dir, student)


# Settings read afresh whenever they are used, so a resumed run may change them at any time;
# the checkpoint choice is made at phase end.
LIVE_SETTINGS = ("selector", "eval_items", "benchmark", "log_every", "schedule")


def config_changes(old: Any, new: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, old, new) for every setting that differs between two config dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            c
            for key in sorted(old.keys() | new.keys())
            for c in config_changes(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))
        ]
    return [] if old == new else [(where, old, new)]


def resumed_config(
    stored: TrainConfig, given: TrainConfig, data: dict[str, Any], settings_given: bool
) -> TrainConfig:
    """The config a resumed run continues with: the stored one, plus the given changes that are safe
    (live settings; any setting of a phase that has not started). Anything else is refused, listed."""
    if not settings_given:
        return TrainConfig.from_json({**stored.to_json(), "schedule": given.schedule})
    pending = {p for p, entry in data["phases"].items() if entry.get("status", "pending") == "pending"}
    unsafe = [c for c in config_changes(stored.to_json(), given.to_json()) if not _safe_change(c[0], pending)]
    if unsafe:
        listed = "; ".join(f"{key}: {old!r} -> {new!r}" for key, old, new in unsafe)
        first = next((p for p in stored.schedule if p not in pending), stored.schedule[0])
        raise LabtaxError(
            f"{stored.output_dir}: cannot resume with changed settings ({listed}); "
            f"they would change work already done: pass --restart-phase {first} (or a later phase) "
            "to run it again with them, or use another output_dir"
        )
    return given


def _safe_change(key: str, pending: set[str]) -> bool:
    parts = key.split(".")
    return parts[0] in LIVE_SETTINGS or (parts[0] == "phases" and len(parts) > 1 and parts[1] in pending)


def restart_from(run_dir: Path, phase: str) -> None:
    """Forget `phase` and every later phase of the run (journal entries, checkpoints), so they run
    again from the checkpoint the phase before them chose."""
    data = journal.read(run_dir)
    schedule = data.get("schedule") or list(data["phases"])
    if phase not in schedule:
        raise LabtaxError(
            f"--restart-phase {phase}: not a phase of the run in {run_dir} "
            f"(its phases: {', '.join(schedule)})"
        )
    for later in schedule[schedule.index(phase) :]:
        data["phases"][later] = {"status": "pending", "epochs": []}
        shutil.rmtree(run_dir / later, ignore_errors=True)
    journal.write(run_dir, data)


def join_launch(
    config: TrainConfig, run_dir: Path, student: str, echo: Any, scorer: Scorer | None
) -> dict[str, Any]:
    """A node other than 0: its workers join node 0's rendezvous; node 0 keeps the journal and
    the plot (output_dir must be on a filesystem all nodes share)."""
    launch(config, run_dir, config.schedule, echo, scorer)
    data = journal.read(run_dir)
    return {**data, "final_checkpoint": starting_point(data, None, student)}


def launch(
    config: TrainConfig, run_dir: Path, phases: list[str], echo: Any, scorer: Scorer | None = None
) -> None:
    """One launch runs the remaining phases back to back (process start-up is paid once)."""
    cmd = command(config, run_dir, phases, scorer)
    echo(f"launching {' -> '.join(phases)}: {' '.join(cmd)}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # DeepSpeed's compiled ops go to a labtax cache (`labtax clean` removes it), not torch's default in $HOME.
    env.setdefault("TORCH_EXTENSIONS_DIR", str(torch_extensions_dir()))
    code = subprocess.run(cmd, env=env, check=False).returncode
    if code != 0:
        failed = [
            p for p in phases if journal.read(run_dir)["phases"][p]["status"] not in ("done", "skipped")
        ]
        where = f"phase {failed[0]}" if failed else "training"
        raise LabtaxError(
            f"{where} failed (exit {code}); fix the cause and run again with --resume", EXIT_FINDINGS
        )


def finish(config: TrainConfig, run_dir: Path, student: str) -> dict[str, Any]:
    data = journal.read(run_dir)
    data["final_checkpoint"] = starting_point(data, None, student)
    data["reward_model"] = reward_model(data)
    plot = plot_losses(run_dir, config.schedule)
    data["plot"] = str(plot) if plot else None
    journal.write(run_dir, data)
    return data
