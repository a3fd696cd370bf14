"""The evaluation sets: what a student is measured on.

| set       | items                                              | where                                   |
| knowledge | multiple choice from the leaves' documents          | <generate output>/eval/*.mcq.jsonl      |
| skills    | held-out prompts with the teacher's kept answers    | <generate output>/eval/*.heldout.jsonl  |
| seeds     | the leaves' own seed examples (trained on; tagged)  | the taxonomy                            |
| benchmark | a user's MMLU-format files, to watch for forgetting | --benchmark DIR (*.jsonl or *.csv)      |

A benchmark folder has one of two layouts (a mix of both is an error):
- MMLU: `{subject}_test`, `{subject}_dev` and `{subject}_val` files (in dev/, val/, test/ subfolders
  or not), kept apart as lm-evaluation-harness keeps them: the test items are scored, the dev items
  in file order are the shots, the val items are checked and not used. Every subject needs a test file.
- plain: one file per subject, every item scored (shots drawn from the other items of the subject).

Every bad line is reported with its file and line; nothing is guessed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from labtax.config import Config
from labtax.errors import LabtaxError
from labtax.schemas import checked_rows
from labtax.taxonomy import chat_messages, find_leaves, load_leaf

SETS = ("knowledge", "skills", "seeds", "benchmark")
LETTERS = "ABCD"
SPLITS = ("test", "dev", "val")  # the MMLU layout's file suffixes


@dataclass(frozen=True)
class McqItem:
    """A multiple-choice question: four choices, `answer` the index of the right one."""

    id: str
    set: str
    leaf: str  # a qna.yaml path, or a benchmark subject
    branch: str
    question: str
    choices: tuple[str, ...]
    answer: int
    # MMLU layout only: the subject in words (lm-eval's description line) and its dev items, in order
    about: str = ""
    dev: tuple[McqItem, ...] = ()


@dataclass(frozen=True)
class PromptItem:
    """A prompt the student answers, with a reference answer to grade against."""

    id: str
    set: str
    leaf: str
    branch: str
    prompt: tuple[dict[str, str], ...]  # chat turns, a user turn last
    reference: str

    @property
    def question(self) -> str:
        return self.prompt[-1]["content"]


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, item) of an evaluation set; a broken or invalid line is a located error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabtaxError(f"{path}: cannot read this evaluation set ({exc})") from None
    yield from checked_rows(text, str(path), "eval-item.schema.json", "eval-item", top="(item)")


def read_mcq(path: Path, set_name: str = "knowledge", subject: str | None = None) -> list[McqItem]:
    """Multiple-choice items of one JSONL file (generated, or a benchmark in the same layout)."""
    items = []
    for lineno, item in _lines(path):
        leaf = item.get("leaf") or item.get("subject") or subject or path.stem
        check_choices(item["choices"], f"{path}:{lineno}")
        items.append(
            McqItem(
                str(item.get("id") or f"{path.name}:{lineno}"),
                set_name,
                leaf,
                item.get("branch", "knowledge"),
                item["question"],
                tuple(item["choices"]),
                int(item["answer"]),
            )
        )
    return items


def check_choices(choices: list[str], where: str) -> None:
    """Four different, non-empty options: a repeated one makes the item ambiguous (and ties its
    cloze score), an empty one has no length to normalise by."""
    for k, choice in enumerate(choices):
        if not choice.strip():
            raise LabtaxError(f"{where}:1: error[eval-item] option {LETTERS[k]} is empty; give four options")
        if choice.strip() in [c.strip() for c in choices[:k]]:
            raise LabtaxError(
                f"{where}:1: error[eval-item] option {LETTERS[k]} repeats an earlier option "
                f"({choice.strip()!r}); the four options must differ"
            )


def read_heldout(path: Path) -> list[PromptItem]:
    items = []
    for lineno, item in _lines(path):
        if item.get("set") != "skills":
            raise LabtaxError(
                f'{path}:{lineno}:1: error[eval-item] a held-out item needs "set": "skills", '
                "a prompt and a reference"
            )
        items.append(
            PromptItem(
                item["id"], "skills", item["leaf"], item["branch"], tuple(item["prompt"]), item["reference"]
            )
        )
    return items


def generated_sets(folder: Path) -> tuple[list[McqItem], list[PromptItem]]:
    """The knowledge and skills sets `labtax generate` wrote under `folder` (its eval/ folder)."""
    mcq = [i for path in sorted(folder.rglob("*.mcq.jsonl")) for i in read_mcq(path)]
    heldout = [i for path in sorted(folder.rglob("*.heldout.jsonl")) for i in read_heldout(path)]
    return mcq, heldout


def seed_items(config: Config, leaves: set[str] | None = None) -> list[PromptItem]:
    """The leaves' seed examples as prompts with reference answers, asked as training asks them."""
    items = []
    for qna in find_leaves(config.taxonomy_root):
        relative = qna.relative_to(config.root).as_posix()
        if leaves is not None and relative not in leaves:
            continue
        leaf = load_leaf(config.root, relative, config.data["taxonomy_root"])
        for i, seed in enumerate(leaf.seed_examples):
            *prompt, answer = chat_messages(leaf, seed.question, seed.answer, seed.context)
            items.append(
                PromptItem(
                    f"{leaf.path}#seed{i}", "seeds", leaf.path, leaf.branch, tuple(prompt), answer["content"]
                )
            )
    return items


def benchmark_items(folder: Path) -> list[McqItem]:
    """A user's benchmark: MMLU-format JSONL (question, choices, answer) or the public MMLU CSV
    layout (question,A,B,C,D,answer-letter; no header), in the MMLU or the plain layout (above)."""
    if not folder.is_dir():
        raise LabtaxError(f"{folder}: no such benchmark folder (--benchmark)")
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".jsonl", ".csv"))
    if not files:
        raise LabtaxError(f"{folder}: no *.jsonl or *.csv benchmark files here")
    split = {path: _split_of(path) for path in files}
    mmlu = [p for p in files if split[p]]
    if not mmlu:
        return [item for path in files for item in _read_benchmark(path, path.stem)]
    plain = [p for p in files if not split[p]]
    if plain:
        raise LabtaxError(
            f"{plain[0]}:1:1: error[benchmark-layout] a plain per-subject file beside MMLU split files "
            f"such as {mmlu[0].name}; name every file {{subject}}_test, _dev or _val, or none"
        )
    return _mmlu_items(folder, mmlu, split)


def _split_of(path: Path) -> str:
    """test, dev or val for a file of the MMLU layout ({subject}_test.csv), else ''."""
    return next((s for s in SPLITS if path.stem.endswith(f"_{s}") and len(path.stem) > len(s) + 1), "")


def _mmlu_items(folder: Path, files: list[Path], split: dict[Path, str]) -> list[McqItem]:
    """The test items of each subject, each carrying the subject's dev items (its shots)."""
    by_subject: dict[str, dict[str, Path]] = {}
    for path in files:
        subject = path.stem.removesuffix(f"_{split[path]}")
        seen = by_subject.setdefault(subject, {})
        if split[path] in seen:
            raise LabtaxError(
                f"{path}:1:1: error[benchmark-layout] a second {split[path]} file of subject {subject} "
                f"(the first: {seen[split[path]]}); keep one"
            )
        seen[split[path]] = path
    items: list[McqItem] = []
    for subject, paths in sorted(by_subject.items()):
        if "test" not in paths:
            named = paths.get("dev") or paths["val"]
            raise LabtaxError(
                f"{named}:1:1: error[benchmark-layout] subject {subject} has no test file "
                f"({subject}_test.csv or .jsonl under {folder}); only the test split is scored"
            )
        about = " ".join(subject.split("_"))  # as lm-eval's MMLU task descriptions say it
        if "val" in paths:
            _read_benchmark(paths["val"], subject)  # checked, not used (lm-eval's MMLU uses no val)
        dev = tuple(replace(i, leaf=subject, about=about) for i in _read_benchmark(paths.get("dev"), subject))
        items += [
            replace(i, leaf=subject, about=about, dev=dev) for i in _read_benchmark(paths["test"], subject)
        ]
    return items


def _read_benchmark(path: Path | None, subject: str) -> list[McqItem]:
    if path is None:
        return []
    return read_mcq(path, "benchmark", subject) if path.suffix == ".jsonl" else read_csv(path, subject)


def read_csv(path: Path, subject: str) -> list[McqItem]:
    items = []
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LabtaxError(f"{path}: cannot read this benchmark file ({exc})") from None
    for lineno, row in enumerate(rows, 1):
        if not row:
            continue
        if len(row) != 6 or row[5].strip().upper() not in LETTERS or not row[0].strip():
            raise LabtaxError(
                f"{path}:{lineno}:1: error[eval-item] expected question,A,B,C,D,answer with answer one of A-D"
            )
        check_choices(row[1:5], f"{path}:{lineno}")
        items.append(
            McqItem(
                f"{path.name}:{lineno}",
                "benchmark",
                subject,
                "benchmark",
                row[0],
                tuple(row[1:5]),
                LETTERS.index(row[5].strip().upper()),
            )
        )
    return items
