"""`labtax mix` writes the stacked set: the union of the LAB phases' own splits, without replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labtax.config import load_config
from labtax.errors import LabtaxError
from labtax.mix import OWN_FILES, check_mix, mix
from labtax.phases import LAB_PHASES
from labtax.train.summary import mix_summary


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_id(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: r["id"])


@pytest.fixture
def replaying(mix_project: Path) -> Path:
    """Replay on, so that the phase files hold replayed samples the stacked set must leave out."""
    (mix_project / "labtax.yaml").write_text(
        (mix_project / "labtax.yaml").read_text()
        + "  replay:\n    kt2: {kt1: 1.0}\n    st: {kt1: 0.5, kt2: 0.5}\n"
    )
    return mix_project


def test_stacked_is_the_union_of_the_phases_own_samples_without_replay(replaying: Path) -> None:
    stats = mix(load_config(replaying))
    data = replaying / "data"
    phase_rows = {p: rows(data / f"{p}.jsonl") for p in LAB_PHASES}
    assert any(r["replayed"] for p in LAB_PHASES for r in phase_rows[p]), "the test needs replayed samples"
    own = [r for p in LAB_PHASES for r in phase_rows[p] if not r["replayed"]]
    stacked = rows(data / "stacked.jsonl")
    assert by_id(stacked) == by_id(own)  # every own sample once, as the phase files hold it
    assert not any(r["replayed"] for r in stacked)
    assert {r["phase"] for r in stacked} == set(LAB_PHASES)
    validation = [r for p in LAB_PHASES for r in rows(data / f"{p}.val.jsonl")]
    assert validation and by_id(rows(data / "stacked.val.jsonl")) == by_id(validation)
    counted = stats["phases"]["stacked"]
    assert counted["train"] == len(own) and counted["validation"] == len(validation)
    assert counted["replayed"] == {}
    assert counted["tokens"]["train"] == sum(r["tokens"] for r in own)
    assert {"stacked.jsonl", "stacked.val.jsonl"} <= set(stats["files"]) & OWN_FILES
    shown = mix_summary(stats).splitlines()
    assert shown[-1].startswith(f"  Stacked train {len(own):6} ") and shown[-1].endswith("replayed: none")
    assert shown[1].startswith("  KT/1    train ")  # the phase names line up with the longest one


def test_stacked_order_is_seeded(mix_project: Path, tmp_path: Path) -> None:
    config = load_config(mix_project)
    mix(config, output_dir=tmp_path / "a", seed=7)
    mix(config, output_dir=tmp_path / "b", seed=7)
    mix(config, output_dir=tmp_path / "c", seed=8)
    a, b, c = ((tmp_path / x / "stacked.jsonl").read_bytes() for x in "abc")
    assert a == b and a != c


def test_check_mix_refuses_an_edited_stacked_file(mix_project: Path) -> None:
    mix(load_config(mix_project))
    data = mix_project / "data"
    check_mix(data)
    lines = (data / "stacked.jsonl").read_text().splitlines(keepends=True)
    (data / "stacked.jsonl").write_text("".join(lines[1:]))
    with pytest.raises(LabtaxError, match=r"stacked\.jsonl: does not match .*mix\.json"):
        check_mix(data)
