"""Generate's data integrity and its errors for a user's or a machine's fault: links out of the
taxonomy, deleted leaves, concurrent runs, an unusable call cache, full or unwritable disks, bad
settings. Every failure is one located line with the README's exit code."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labtax.errors import LabtaxError
from tests.generate.helpers import KNOWLEDGE, git, outputs, run, write_config, write_leaf
from tests.generate.teacher_server import TeacherServer

HAIKU = "taxonomy/compositional_skills/writing/haiku/qna.yaml"
SUMMARY = "taxonomy/compositional_skills/reading/summary/qna.yaml"
CACHE = "generated/.cache/calls.sqlite"


def cli(repo: Path, *args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from labtax.cli import main; main()", *args]
    return subprocess.run(
        command, cwd=repo, capture_output=True, text=True, timeout=120, check=False, **popen
    )  # type: ignore[call-overload]


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert done.returncode == code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith("Error: "), done.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


# ---- links, deleted leaves, unreadable leaves ----------------------------------------------------


def test_a_qna_yaml_linked_from_outside_is_never_sent_to_the_teacher(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(
        (repo / HAIKU).read_text().replace("haiku about gravity", "haiku about SECRET-TOKEN-42")
    )
    (repo / HAIKU).unlink()
    (repo / HAIKU).symlink_to(secret)
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        result = run(repo)
        assert not any("SECRET-TOKEN-42" in json.dumps(body) for body in server.received)
    assert "outside the taxonomy" in result.failed[HAIKU] and "LT007" in result.failed[HAIKU]
    assert SUMMARY in result.manifest["leaves"]  # the other leaves were generated


def test_lint_reports_a_leaf_folder_that_is_a_link(repo: Path, tmp_path: Path) -> None:
    from labtax.config import load_config
    from labtax.lint import lint_tree

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(repo / "taxonomy/compositional_skills/writing/haiku", elsewhere)
    (repo / "taxonomy/compositional_skills/writing/linked").symlink_to(elsewhere)
    problems = [p for p in lint_tree(load_config(repo)) if "linked" in p.path]
    assert [(p.rule, p.path) for p in problems] == [
        ("LT007", "taxonomy/compositional_skills/writing/linked/qna.yaml")
    ]
    assert "linked folders are not followed" in problems[0].message


def test_outputs_of_a_leaf_removed_on_the_base_branch_go_with_the_next_run(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        run(repo, all_leaves=True)
        assert "compositional_skills/writing/haiku.jsonl" in outputs(repo)
        git(repo, "rm", "-rq", "taxonomy/compositional_skills/writing/haiku")
        git(repo, "commit", "-qm", "drop haiku")
        result = run(repo, all_leaves=False)  # nothing changed against main: nothing to generate
    assert result.removed == ["compositional_skills/writing/haiku.jsonl"]
    assert "compositional_skills/writing/haiku.jsonl" not in outputs(repo)
    assert HAIKU not in json.loads((repo / "generated/manifest.json").read_text())["leaves"]


def test_one_unreadable_leaf_fails_alone(repo: Path) -> None:
    (repo / HAIKU).write_bytes(b"version: 3\ntask_description: [unclosed\n")
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=2)
        done = cli(repo, "generate", "--all")
    assert done.returncode == 1, done.stderr
    assert f"failed: {HAIKU}: stage setup: not valid YAML" in done.stderr
    assert SUMMARY in json.loads((repo / "generated/manifest.json").read_text())["leaves"]


def test_a_failed_dry_run_names_no_log_it_never_wrote(repo: Path) -> None:
    (repo / HAIKU).write_bytes(b"version: 3\ntask_description: [unclosed\n")
    write_config(repo, "http://127.0.0.1:9/v1")
    done = cli(repo, "generate", "--all", "--dry-run")
    assert_one_line_error(done, 1, "1 leaf(s) failed; listed above")
    assert f"failed: {HAIKU}" in done.stderr and not (repo / "generated").exists()


def test_a_missing_taxonomy_root_is_an_error_for_generate_and_diff(repo: Path) -> None:
    (repo / "labtax.yaml").write_text("taxonomy_root: nothere\n")
    for args in (("generate", "--all"), ("generate",), ("diff",)):
        assert_one_line_error(
            cli(repo, *args), 2, "the taxonomy root", "nothere does not exist (taxonomy_root in"
        )


# ---- concurrent runs ---------------------------------------------------------------------------------


def test_a_second_run_on_the_same_output_is_refused_naming_the_first(repo: Path) -> None:
    with TeacherServer(freeze_after=0) as server:  # the first run hangs in its first call
        write_config(repo, server.url, num_instructions=2)
        first = subprocess.Popen(
            [sys.executable, "-c", "from labtax.cli import main; main()", "generate", "--all"],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not server.received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.received
            with pytest.raises(
                LabtaxError, match=rf"generated: in use by labtax generate \(pid {first.pid}\); wait for it"
            ):
                run(repo)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
    with TeacherServer() as server:  # the lock died with its process: the next run proceeds
        write_config(repo, server.url, num_instructions=2)
        assert not run(repo).failed


# ---- the call cache -----------------------------------------------------------------------------------


def test_a_locked_cache_is_reported_without_advice_to_delete_it(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1)
        run(repo, leaves=(HAIKU,))
        holder = sqlite3.connect(repo / CACHE, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            write_config(repo, server.url, num_instructions=1, seed=5)  # new calls, which must be stored
            with pytest.raises(LabtaxError) as caught:
                run(repo, leaves=(HAIKU,))
        finally:
            holder.close()
    message = caught.value.message
    assert message.startswith(str(repo / CACHE)) and "another process is using it" in message
    assert "delete" not in message and "\n" not in message and caught.value.exit_code == 1


def test_a_damaged_cache_is_moved_aside_not_deleted(repo: Path) -> None:
    (repo / CACHE).parent.mkdir(parents=True)
    (repo / CACHE).write_bytes(b"this is not a database " * 100)
    write_config(repo, "http://127.0.0.1:9/v1")
    done = cli(repo, "generate", "--all")
    assert_one_line_error(done, 1, str(repo / CACHE), "the file is damaged; move it aside")
    assert "delete" not in done.stderr


# ---- full and unwritable disks -----------------------------------------------------------------------------


def test_an_output_path_that_cannot_be_a_folder_is_one_line(repo: Path) -> None:
    (repo / "blocked").write_text("a file where the output folder should be\n")
    write_config(repo, "http://127.0.0.1:9/v1", output="blocked/generated")
    assert_one_line_error(cli(repo, "generate", "--all"), 1, "blocked/generated")


def _small_file_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_is_one_line_without_logging_tracebacks(repo: Path) -> None:
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=40)
        done = cli(repo, "generate", "--all", preexec_fn=_small_file_limit)
    assert_one_line_error(done, 1, str(repo / "generated"))
    assert "--- Logging error ---" not in done.stderr


def test_a_log_file_that_cannot_be_written_prints_no_traceback(repo: Path) -> None:
    (repo / "generated").mkdir()
    (repo / "generated/generate.log").symlink_to("/dev/full")  # every write: ENOSPC
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1)
        done = cli(repo, "generate", "--all")
    assert done.returncode == 0, done.stderr
    assert "Logging error" not in done.stderr and "Traceback" not in done.stderr


# ---- settings and leaves that used to give internal errors -------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"generate": {"sampling": {"temperature": float("nan")}}}, "generate.sampling.temperature"),
        ({"lint": {"near_duplicate_threshold": float("nan")}}, "lint.near_duplicate_threshold"),
        ({"generate": {"dedup_threshold": float("inf")}}, "generate.dedup_threshold"),
    ],
)
def test_non_finite_numbers_in_labtax_yaml_are_refused(tmp_path: Path, config: dict, key: str) -> None:
    from labtax.config import load_config

    text = json.dumps(config).replace("NaN", ".nan").replace("Infinity", ".inf")
    (tmp_path / "labtax.yaml").write_text(text)
    with pytest.raises(LabtaxError, match=rf"labtax.yaml: {key}: not a finite number"):
        load_config(tmp_path)


def test_a_bad_command_line_value_is_blamed_on_the_option(repo: Path) -> None:
    write_config(repo, "http://127.0.0.1:9/v1")
    done = cli(repo, "generate", "--all", "--concurrency", "100000")
    assert done.returncode == 2
    assert "option --concurrency (generate.concurrency): 100000 is greater than the maximum" in done.stderr
    assert "labtax.yaml: generate.concurrency" not in done.stderr


def test_an_ext_transport_document_repo_is_refused_by_lint_and_generate(repo: Path) -> None:
    from labtax.config import load_config
    from labtax.lint import lint_tree

    text = KNOWLEDGE.replace(
        '  patterns:\n    - "*.md"',
        '  repo: "ext::sh -c touch% /tmp/labtax-pwned"\n  commit: '
        + "a" * 40
        + '\n  patterns:\n    - "*.md"',
    )
    leaf = write_leaf(repo, "knowledge/physics/remote", text)
    problems = [p for p in lint_tree(load_config(repo)) if p.path == leaf]
    assert any(p.rule == "LT403" and "ext::" in p.message for p in problems)
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1)
        result = run(repo)
    assert (
        "is not an https://, http://, ssh://, git@host:path or file:// URL or a local path"
        in result.failed[leaf]
    )
    assert HAIKU in result.manifest["leaves"] and not Path("/tmp/labtax-pwned").exists()


def test_a_range_overflow_in_a_users_template_names_the_template(repo: Path) -> None:
    prompts = repo / "prompts"
    shutil.copytree(Path(__file__).parents[2] / "prompts", prompts)
    stage = prompts / "generate_instructions.j2"
    stage.write_text("{% for i in range(10**9) %}{% endfor %}" + stage.read_text())
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1, prompts_dir="prompts")
        result = run(repo, leaves=(HAIKU,))
    assert f"prompt template {stage}: OverflowError" in result.failed[HAIKU]


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(repo: Path) -> None:
    stale = repo / "generated/compositional_skills/writing/.haiku.jsonl.k1ll3d.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"half": ')
    with TeacherServer() as server:
        write_config(repo, server.url, num_instructions=1)
        run(repo, leaves=(SUMMARY,))
    assert not stale.exists()


def test_nothing_to_do_with_all_does_not_advise_all(repo: Path) -> None:
    for folder in ("compositional_skills", "knowledge"):
        shutil.rmtree(repo / "taxonomy" / folder)
    write_config(repo, "http://127.0.0.1:9/v1")
    done = cli(repo, "generate", "--all")
    assert done.returncode == 0 and "no leaves: nothing to generate." in done.stderr
    assert "--all" not in done.stderr


def test_ctrl_c_is_acknowledged_and_exits_within_two_seconds(repo: Path) -> None:
    with TeacherServer(freeze_after=0) as server:  # every call hangs
        write_config(repo, server.url, num_instructions=2, request_timeout_s=60)
        # Ctrl-C reaches a program in the foreground; a test run started in the background by a shell
        # without job control (`cmd &`) hands its children SIGINT ignored, so restore the default.
        process = subprocess.Popen(
            [sys.executable, "-c", "from labtax.cli import main; main()", "generate", "--all"],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 30
        while not server.received and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - started
    assert process.returncode == 130 and took < 2.0, (took, stderr)
    assert "interrupted: stopping the teacher; finished calls are in the cache" in stderr
    assert "Traceback" not in stderr
