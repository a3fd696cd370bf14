"""The GitHub workflow, the composite action and the pre-commit hook, validated for real:
check-jsonschema against the vendored SchemaStore schemas and zizmor's offline security audit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = REPO_ROOT / "action.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=REPO_ROOT, capture_output=True, text=True)


def _load(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_there_is_a_workflow() -> None:
    assert WORKFLOWS


@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_workflows_match_the_schema(schema: str) -> None:
    result = _tool("check-jsonschema", "--builtin-schema", schema, *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_matches_the_schema() -> None:
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.github-actions", str(ACTION))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    result = _tool("zizmor", "--offline", "--no-progress", *map(str, WORKFLOWS), str(ACTION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_pull_requests_lint_the_changed_leaves_with_full_history() -> None:
    workflow = _load(REPO_ROOT / ".github" / "workflows" / "ci.yml")
    assert "pull_request" in workflow["on"]  # YAML 1.2: `on` is a plain key, not a boolean
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["lint-changed-leaves"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    lint = next(s for s in steps if "labtax lint" in s.get("run", ""))
    assert '--changed --base "origin/${BASE_REF}"' in lint["run"]
    assert lint["env"]["BASE_REF"] == "${{ github.base_ref }}"
    tests = workflow["jobs"]["tests"]["steps"]
    assert any(s.get("run") == "bash scripts/test.sh" for s in tests)


def _steps(path: Path) -> list[dict]:
    data = _load(path)
    return [s for job in data.get("jobs", {}).values() for s in job["steps"]] or data["runs"]["steps"]


def test_every_action_is_pinned_to_a_full_sha() -> None:
    refs = [step["uses"] for path in [*WORKFLOWS, ACTION] for step in _steps(path) if "uses" in step]
    assert refs
    for ref in refs:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"{ref} is not pinned to a commit"


def test_no_expression_is_pasted_into_a_script() -> None:
    for path in [*WORKFLOWS, ACTION]:
        for step in _steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_action_inputs() -> None:
    action = _load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"path", "base", "profile", "version"} <= set(action["inputs"])


def test_pre_commit_hook() -> None:
    hooks = _load(HOOKS)
    assert isinstance(hooks, list)
    hook = next(h for h in hooks if h["id"] == "labtax-lint")
    assert hook["language"] == "python"
    assert hook["entry"].startswith("labtax lint")
    assert {"id", "name", "entry", "language"} <= set(hook)
    files = re.compile(hook["files"])
    assert files.search("taxonomy/knowledge/physics/kinematics/qna.yaml")
    assert files.search("taxonomy/knowledge/physics/kinematics/attribution.txt")
    assert files.search("taxonomy/knowledge/physics/kinematics/kinematics.md")  # a local document
    assert files.search("taxonomy/compositional_skills/x/qna.yml") and files.search("taxonomy/x/QNA.yaml")
    assert not files.search("setup.py") and not files.search("taxonomy/x/qna.yaml.bak")
