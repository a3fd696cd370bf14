"""What mix trains on and how it publishes: only records of leaves the taxonomy has today and the
manifest vouches for; bad bytes located; the phase set replaced as a whole; train checks it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtax.cli import cli
from labtax.config import load_config
from labtax.errors import LabtaxError
from labtax.mix import check_mix, mix
from labtax.train.data import read_jsonl
from tests.train import tiny

RHYMES = tiny.LEAVES["compositional_skills"]
RHYMES_OUT = "compositional_skills/writing/rhymes.jsonl"


def leaves_in(folder: Path) -> set[str]:
    return {json.loads(line)["leaf"] for p in folder.glob("*.jsonl") for line in p.read_text().splitlines()}


def test_records_of_a_deleted_leaf_are_dropped_loudly(mix_project: Path) -> None:
    shutil.rmtree(mix_project / RHYMES.removesuffix("/qna.yaml"))  # the leaf is gone; its JSONL stays
    stats = mix(load_config(mix_project))
    assert RHYMES not in leaves_in(mix_project / "data")
    (reason,) = stats["dropped"]
    assert (
        reason.startswith(RHYMES)
        and "not in the taxonomy" in reason
        and stats["dropped"][reason] == len(tiny.RHYMES)
    )


def test_records_that_the_manifest_does_not_vouch_for_are_dropped(mix_project: Path) -> None:
    manifest = json.loads((mix_project / "generated/manifest.json").read_text())
    manifest["leaves"][RHYMES]["leaf_hash"] = "1" * 64  # regenerated since: these records are left over
    (mix_project / "generated/manifest.json").write_text(json.dumps(manifest))
    stats = mix(load_config(mix_project))
    (reason,) = stats["dropped"]
    assert "another version of the leaf" in reason
    assert all(
        r["source"] == "seed" for r in read_jsonl(mix_project / "data/st.jsonl") if r["leaf"] == RHYMES
    )


def test_a_leaf_linked_from_outside_adds_nothing(
    mix_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    qna = mix_project / RHYMES
    outside = tmp_path_factory.mktemp("outside") / "qna.yaml"
    outside.write_text(qna.read_text())
    qna.unlink()
    qna.symlink_to(outside)
    stats = mix(load_config(mix_project))
    assert RHYMES not in leaves_in(mix_project / "data")  # neither its seeds nor its generated records
    assert any("outside the taxonomy" in line and "LT007" in line for line in stats["skipped_leaves"])
    assert any(reason.startswith(RHYMES) for reason in stats["dropped"])


def test_cli_prints_what_it_dropped(mix_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(mix_project / RHYMES.removesuffix("/qna.yaml"))
    monkeypatch.chdir(mix_project)
    result = CliRunner().invoke(cli, ["mix"])
    assert result.exit_code == 0, result.output
    assert (
        f"warning: dropped {len(tiny.RHYMES)} record(s) of {RHYMES}: the leaf is not in the taxonomy"
        in result.output
    )


@pytest.mark.parametrize(
    ("line", "column", "what"),
    [
        (b'{"id": "\xff"}', 9, "byte 0xff is not valid UTF-8"),
        (b'{"id": "\\ud800"}', 9, "lone surrogate"),
    ],
)
def test_bad_text_in_generated_data_is_located(
    mix_project: Path, line: bytes, column: int, what: str
) -> None:
    path = mix_project / "generated" / RHYMES_OUT
    path.write_bytes(path.read_bytes() + line + b"\n")
    with pytest.raises(
        LabtaxError, match=rf"{path}:{len(tiny.RHYMES) + 1}:{column}: error\[record\] .*{what}"
    ):
        mix(load_config(mix_project))


def test_zero_samples_is_an_error_not_a_success(mix_project: Path) -> None:
    shutil.rmtree(mix_project / "taxonomy")
    (mix_project / "taxonomy").mkdir()
    with pytest.raises(LabtaxError, match="no samples to mix") as caught:
        mix(load_config(mix_project))
    assert caught.value.exit_code == 1
    assert not (mix_project / "data").exists()


def test_a_folder_with_foreign_files_is_not_replaced(mix_project: Path) -> None:
    (mix_project / "data").mkdir()
    (mix_project / "data/notes.txt").write_text("mine\n")
    with pytest.raises(LabtaxError, match="holds files labtax mix did not write \\(notes.txt\\)"):
        mix(load_config(mix_project))
    assert (mix_project / "data/notes.txt").read_text() == "mine\n"


KILL_BETWEEN_RENAMES = """
import os, signal, sys, types
import labtax.publish as m
import labtax.mix
calls = []
def replace(src, dst):
    os.replace(src, dst)
    calls.append(dst)
    if len(calls) == 1:  # the old set moved aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
m.os = types.SimpleNamespace(replace=replace, getpid=os.getpid)
from labtax.config import load_config
labtax.mix.mix(load_config(), seed=int(sys.argv[1]))
"""


def test_a_kill_while_publishing_leaves_no_mixture_and_the_next_run_cleans_up(mix_project: Path) -> None:
    mix(load_config(mix_project), seed=1)
    before = (mix_project / "data/mix.json").read_text()
    killed = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, "2"], cwd=mix_project, check=False)
    assert killed.returncode == -9
    assert not (mix_project / "data").exists()  # no set at all, never the new kt1 beside the old mix.json
    leftovers = sorted(p.name for p in mix_project.glob(".data.*-*"))
    assert (
        len(leftovers) == 2
        and leftovers[0].startswith(".data.new-")
        and leftovers[1].startswith(".data.old-")
    )
    with pytest.raises(LabtaxError, match="missing; run `labtax mix`"):
        read_jsonl(mix_project / "data/kt1.jsonl")
    stats = mix(load_config(mix_project), seed=2)
    assert not list(mix_project.glob(".data.*-*"))  # the next run cleaned up
    assert stats["seed"] == 2 and (mix_project / "data/mix.json").read_text() != before
    check_mix(mix_project / "data")


def test_train_refuses_phase_files_that_mix_json_does_not_describe(mix_project: Path, tmp_path: Path) -> None:
    mix(load_config(mix_project), seed=1)
    mix(load_config(mix_project), output_dir=tmp_path / "other", seed=2)
    shutil.copy(tmp_path / "other/st.jsonl", mix_project / "data/st.jsonl")  # one file of another run
    with pytest.raises(LabtaxError, match=r"data/st.jsonl: does not match .*mix.json"):
        check_mix(mix_project / "data")
    from labtax.train.config import load_train_config
    from labtax.train.launch import train

    config = load_train_config(None, [f"data_dir={mix_project / 'data'}", f"output_dir={tmp_path / 'run'}"])
    with pytest.raises(LabtaxError, match="does not match"):
        train(config, dry_run=True)


def test_a_training_record_without_messages_is_located(tmp_path: Path) -> None:
    (tmp_path / "kt1.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"id": "x"}\n')
    with pytest.raises(LabtaxError, match=r"kt1.jsonl:2:1: a training record needs `messages`"):
        read_jsonl(tmp_path / "kt1.jsonl")
