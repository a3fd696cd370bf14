"""Training config (schema defaults, overrides), selectors, launcher commands and --dry-run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.errors import ConfigError, LabtaxError
from labtax.schemas import validator
from labtax.train.config import load_train_config
from labtax.train.launch import command
from labtax.train.plan import world_size
from labtax.train.select import Candidate, get_selector

REPO = Path(__file__).resolve().parents[2]


def test_defaults_come_from_the_schema_and_overrides_apply(tmp_path: Path) -> None:
    config = load_train_config(None, ["phases.kt1.lr=1e-6", "defaults.epochs=3"], base=tmp_path, nproc=4)
    assert config.nproc == 4 and config.schedule == ["kt1", "kt2", "st"]
    assert config.phases["kt1"].lr == 1e-6 and config.phases["kt2"].lr == 2e-5
    assert {p.epochs for p in config.phases.values()} == {3}
    assert config.phases["st"].scheduler == "constant_with_warmup"
    assert config.output_dir == str(tmp_path / "runs" / "default")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["defaults.zero_stage=4"], "zero_stage"),
        (["phases.kt9.lr=1"], "kt9"),
        (["defaults.micro_batch_tokens=64", "defaults.max_seq_len=128"], "must be at least max_seq_len"),
        (["lr"], "expected KEY=VALUE"),
        (["schedule=[st, kt1]"], "out of order"),
        (["phases.kt1.lr=.nan"], r"phases.kt1.lr: not a finite number"),
        (["defaults.weight_decay=.inf"], r"defaults.weight_decay: not a finite number"),
        (["nnodes=2"], "needs master_addr and master_port"),
        (["nnodes=2", "node_rank=2", "master_addr=a", "master_port=1"], "must be below nnodes"),
        (["nnodes=2", "hostfile=h", "master_addr=a", "master_port=1"], "give one of them"),
        (["engine=torch", "nproc=2"], "engine torch runs one process"),
    ],
)
def test_bad_settings_are_config_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_train_config(None, overrides)


@pytest.mark.parametrize("name", ["train.yaml", "merlinite-7b.yaml", "train-lab.yaml", "train-stacked.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_train_config(REPO / "configs" / name)
    if name == "merlinite-7b.yaml":
        kt1, kt2, st = (config.phases[p] for p in ("kt1", "kt2", "st"))
        assert (kt1.lr, kt1.effective_batch_size, kt1.max_seq_len, kt1.epochs, kt1.warmup_steps) == (
            1e-6,
            3840,
            2048,
            4,
            800,
        )
        assert kt2.epochs == 4 and (st.max_seq_len, st.epochs) == (4096, 7)


def test_selector_lowest_validation_loss_and_plugins() -> None:
    cands = [Candidate(1, "a", 2.0), Candidate(2, "b", 1.5), Candidate(3, "c", 1.5)]
    assert get_selector("val_loss")("kt1", cands).checkpoint == "b"
    assert get_selector("last")("kt1", cands).checkpoint == "c"
    assert get_selector("labtax.train.select:last_epoch")("kt1", cands).epoch == 3
    assert (
        get_selector("val_loss")("st", [Candidate(1, "a", None), Candidate(2, "b", None)]).checkpoint == "b"
    )
    with pytest.raises(ConfigError):
        get_selector("nonsense")


def test_launch_commands(tmp_path: Path) -> None:
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node1 slots=8\nnode2 slots=8\n")
    local = command(load_train_config(None, nproc=2), tmp_path, ["kt2", "st"])
    assert local[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node" in local
    assert local[-4:] == ["labtax.train.worker", str(tmp_path), "kt2", "st"]
    multi = command(load_train_config(None, hostfile=str(hostfile)), tmp_path, ["kt1"])
    assert multi[1:3] == ["-m", "deepspeed.launcher.runner"] and multi[multi.index("--hostfile") + 1] == str(
        hostfile
    )
    assert multi[-4:] == ["--module", "labtax.train.worker", str(tmp_path), "kt1"]
    nodes = command(
        load_train_config(None, nnodes=2, node_rank=1, master_addr="10.0.0.1", master_port=29400),
        tmp_path,
        ["kt1"],
    )
    assert nodes[nodes.index("--nnodes") + 1] == "2" and nodes[nodes.index("--node-rank") + 1] == "1"
    assert nodes[nodes.index("--rdzv-endpoint") + 1] == "10.0.0.1:29400" and "c10d" in nodes
    assert world_size(load_train_config(None, nnodes=2, master_addr="a", master_port=1, nproc=4)) == 8


def test_dry_run_plans_without_model_weights(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    student = tmp_path / "student"
    shutil.copytree(project / "model", student)
    (student / "model.safetensors").unlink()  # the plan needs the tokenizer only
    hostfile = tmp_path / "hosts"
    hostfile.write_text("localhost slots=2\n")
    monkeypatch.chdir(tmp_path)
    args = [
        "train",
        "--dry-run",
        "--hostfile",
        str(hostfile),
        "--set",
        f"model={student}",
        "--set",
        f"data_dir={project / 'data'}",
        "--set",
        "defaults.effective_batch_size=4",
        "--set",
        "defaults.max_seq_len=96",
        "--set",
        "defaults.warmup_steps=3",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "plan for 2 process(es)" in result.output
    lines = {
        line.split()[0]: line.split()
        for line in result.output.splitlines()
        if line.strip().startswith(("KT/", "ST "))
    }
    assert set(lines) == {"KT/1", "KT/2", "ST"}
    assert lines["KT/1"][1] == str(sum(1 for _ in (project / "data" / "kt1.jsonl").open()))
    assert "deepspeed.launcher.runner" in result.output
    assert not (tmp_path / "runs").exists()


def test_resume_without_a_run_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    from labtax.train.launch import train

    config = load_train_config(
        None, [f"model={project / 'model'}", f"data_dir={project / 'data'}", f"output_dir={tmp_path / 'run'}"]
    )
    with pytest.raises(LabtaxError, match="nothing to resume"):
        train(config, resume=True)


def test_train_schema_documents_every_option() -> None:
    schema = validator("train.schema.json").schema
    assert all("default" in v for k, v in schema["properties"].items() if k != "phases")


def test_plan_warns_when_warm_up_covers_the_whole_phase() -> None:
    from labtax.train.summary import plan_table

    row = {
        "phase": "kt1",
        "replayed": {},
        "truncated": 0,
        "samples": 27,
        "validation": 3,
        "tokens": 3180,
        "epochs": 2,
        "optimizer_steps": 4,
        "effective_batch_size": 16,
        "micro_batch_tokens": 2048,
        "gradient_accumulation": 1.0,
        "warmup_steps": 10,
        "lr": 2e-5,
        "zero_stage": 2,
        "packing_efficiency": 0.99,
    }
    assert "warning: warm-up covers the whole phase" in plan_table([row], 1)
    assert "KT/1 (10 warm-up, 4 steps: the last step trains at 30% of lr)" in plan_table([row], 1)
    # step 4 of 4: 3/4
    assert "the last step trains at 75% of lr" in plan_table([{**row, "warmup_steps": 4}], 1)
    assert "warning" not in plan_table([{**row, "warmup_steps": 3}], 1)  # step 4 trains at the full rate


def test_metrics_survive_a_torn_last_line(tmp_path: Path) -> None:
    from labtax.train.metrics import NAME, read

    # killed mid-write
    (tmp_path / NAME).write_text('{"kind": "step", "phase": "kt1", "epoch": 1}\n{"kind": "st')
    assert read(tmp_path) == [{"kind": "step", "phase": "kt1", "epoch": 1}]


def test_a_schedule_whose_phases_are_all_empty_is_not_a_success(project: Path, tmp_path: Path) -> None:
    from labtax.train.launch import train

    data = tmp_path / "data"
    data.mkdir()
    for phase in ("kt1", "kt2", "st"):
        (data / f"{phase}.jsonl").write_text("")
    config = load_train_config(
        None, [f"model={project / 'model'}", f"data_dir={data}", f"output_dir={tmp_path / 'run'}"]
    )
    with pytest.raises(LabtaxError, match="have no training samples; nothing to train") as caught:
        train(config, dry_run=True)
    assert caught.value.exit_code == 1


def _failed_run(project: Path, run: Path, **overrides: str) -> list[str]:
    """A run folder as a run that died in KT/1 leaves it (KT/1 running, KT/2 and ST pending)."""
    import json

    from labtax.train import journal

    base = [f"model={project / 'model'}", f"data_dir={project / 'data'}", f"output_dir={run}"]
    config = load_train_config(None, base)
    run.mkdir()
    (run / journal.CONFIG).write_text(json.dumps(config.to_json()))
    (run / "kt1").mkdir()
    phases = {
        "kt1": {"status": "running", "epochs": [{"epoch": 1}]},
        "kt2": {"status": "pending", "epochs": []},
        "st": {"status": "pending", "epochs": []},
    }
    journal.write(
        run, {"model": str(project / "model"), "data": {}, "phases": phases, "schedule": ["kt1", "kt2", "st"]}
    )
    return base


def test_resume_takes_safe_changes_and_refuses_the_others(project: Path, tmp_path: Path) -> None:
    from labtax.train.launch import restart_from, train

    run = tmp_path / "run"
    base = _failed_run(project, run)
    safe = load_train_config(None, [*base, "phases.kt2.lr=3e-6", "selector=last"])
    plan = {p["phase"]: p for p in train(safe, resume=True, dry_run=True)["plan"]}
    assert plan["kt2"]["lr"] == 3e-6  # a phase not started yet takes the corrected setting
    unsafe = load_train_config(None, [*base, "phases.kt1.lr=3e-6", "seed=7"])
    with pytest.raises(
        LabtaxError,
        match=r"cannot resume with changed settings \(phases.kt1.lr: 2e-05 -> 3e-06; seed: 42 -> 7\)"
        r".*--restart-phase kt1",
    ):
        train(unsafe, resume=True, dry_run=True)
    plan = {
        p["phase"]: p
        for p in train(load_train_config(None, base), resume=True, dry_run=True, settings_given=False)["plan"]
    }
    assert plan["kt1"]["lr"] == 2e-5  # no settings given: the stored ones
    restart_from(run, "kt1")
    assert not (run / "kt1").exists()
    plan = {
        p["phase"]: p
        for p in train(load_train_config(None, [*base, "phases.kt1.lr=3e-6"]), resume=True, dry_run=True)[
            "plan"
        ]
    }
    assert plan["kt1"]["lr"] == 3e-6


def test_a_run_folder_in_use_points_at_resume_and_restart(project: Path, tmp_path: Path) -> None:
    from labtax.train.launch import start_journal

    run = tmp_path / "run"
    base = _failed_run(project, run)
    with pytest.raises(
        LabtaxError, match="pass --resume to continue it, --restart-phase kt1 to run that phase again"
    ):
        start_journal(load_train_config(None, base), run, str(project / "model"), [], resume=False)
