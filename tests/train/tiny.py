"""Offline test material: a byte-level BPE chat tokenizer, a tiny random Llama, a small
taxonomy and generated records valid against schemas/record.schema.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

FACTS = [
    ("What colour is the sky on a clear day?", "Blue."),
    ("How many legs does a spider have?", "Eight."),
    ("What is the boiling point of water at sea level?", "100 degrees Celsius."),
    ("Which planet is the largest?", "Jupiter."),
    ("What gas do plants take in?", "Carbon dioxide."),
    ("How many days are in a week?", "Seven."),
    ("What is frozen water called?", "Ice."),
    ("Which animal says moo?", "A cow."),
]
LONG = (
    "Velocity is the rate of change of position over time, "
    "and acceleration is the rate of change of velocity. "
) * 3
SKILLS = [
    ("Reverse the word: apple", "elppa"),
    ("Reverse the word: green", "neerg"),
    ("Reverse the word: river", "revir"),
    ("Reverse the word: stone", "enots"),
    ("Reverse the word: cloud", "duolc"),
    ("Reverse the word: light", "thgil"),
]
RHYMES = [
    ("Write a rhyme about a cat.", "The cat sat on the mat, and that was that."),
    ("Write a rhyme about a dog.", "The dog ran through the fog to find a log."),
    ("Write a rhyme about a bee.", "The bee flew to the tree to sip its tea."),
    ("Write a rhyme about a fish.", "The fish made a wish to land in a dish."),
    ("Write a rhyme about a frog.", "The frog sat on a log beside the bog."),
    ("Write a rhyme about a bird.", "The bird sang a word that nobody heard."),
]
LEAVES = {
    "knowledge": "taxonomy/knowledge/science/facts/qna.yaml",
    "foundational_skills": "taxonomy/foundational_skills/words/reverse/qna.yaml",
    "compositional_skills": "taxonomy/compositional_skills/writing/rhymes/qna.yaml",
}


def make_tokenizer(folder: Path):
    """A byte-level BPE tokenizer trained on the test sentences, with a ChatML-like template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [q + " " + a for q, a in FACTS + SKILLS + RHYMES] + [LONG, "user assistant system\n"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<pad>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def make_model(folder: Path) -> Path:
    """A random 2-layer Llama (hidden 64) saved with its tokenizer: a complete student folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = make_tokenizer(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def record(leaf: str, branch: str, question: str, answer: str, index: int) -> dict:
    digest = hashlib.sha256(f"{leaf}\0{index}\0{question}".encode()).hexdigest()[:32]
    return {
        "id": digest,
        "leaf": leaf,
        "branch": branch,
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
        "context": None,
        "source": None,
        "scores": {"pair": 3},
        "provenance": {
            "taxonomy_commit": None,
            "leaf_hash": "0" * 64,
            "teacher": "test",
            "templates": {},
            "sampling": {},
            "seed": 1,
        },
    }


def write_generated(folder: Path) -> dict[str, int]:
    """generated/<leaf folder>.jsonl for the three branches; returns records per branch."""
    rows = {
        "knowledge": [*FACTS, *((f"Explain motion, part {i}.", LONG) for i in range(4))],
        "foundational_skills": SKILLS,
        "compositional_skills": RHYMES,
    }
    manifest: dict = {"version": 1, "leaves": {}}
    for branch, pairs in rows.items():
        leaf = LEAVES[branch]
        out = folder / (leaf.removeprefix("taxonomy/").removesuffix("/qna.yaml") + ".jsonl")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            "".join(json.dumps(record(leaf, branch, q, a, i)) + "\n" for i, (q, a) in enumerate(pairs))
        )
        manifest["leaves"][leaf] = {
            "output": out.relative_to(folder).as_posix(),
            "branch": branch,
            "records": len(pairs),
            "leaf_hash": "0" * 64,
        }
    # mix takes only records the manifest vouches for
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return {b: len(p) for b, p in rows.items()}


def write_taxonomy(root: Path) -> None:
    """Three leaves with two seeds each (the loader needs only what the pipeline reads)."""
    knowledge = (
        "version: 3\ncreated_by: tester\ndomain: science\ndocument_outline: Simple facts.\n"
        "seed_examples:\n  - context: Water freezes at zero degrees Celsius.\n    questions_and_answers:\n"
        "      - question: At what temperature does water freeze?\n        answer: Zero degrees Celsius.\n"
        "      - question: What does water turn into when it freezes?\n        answer: Ice.\n"
        "document:\n  patterns: [facts.md]\n  license: CC-BY-4.0\n"
    )
    skill = (
        "version: 3\ncreated_by: tester\ntask_description: {desc}\nseed_examples:\n"
        "  - question: {q1}\n    answer: {a1}\n  - question: {q2}\n    answer: {a2}\n"
    )
    files = {
        LEAVES["knowledge"]: knowledge,
        LEAVES["foundational_skills"]: skill.format(
            desc="Reverse words.",
            q1="'Reverse the word: table'",
            a1="elbat",
            q2="'Reverse the word: chair'",
            a2="riahc",
        ),
        LEAVES["compositional_skills"]: skill.format(
            desc="Rhymes.",
            q1="Write a rhyme about a hen.",
            a1="The hen counted to ten.",
            q2="Write a rhyme about a fox.",
            a2="The fox sat in a box.",
        ),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        (path.parent / "attribution.txt").write_text("Written for the tests.\n")


TRAIN_YAML = """\
model: {model}
data_dir: {data}
output_dir: {out}
nproc: 2
pad_to_multiple_of: 1
defaults:
  lr: 3.0e-3
  epochs: 2
  warmup_steps: 1
  effective_batch_size: 4
  max_seq_len: 96
  micro_batch_tokens: 128
  zero_stage: {stage}
phases:
  kt2:
    epochs: 3
"""


def write_config(project: Path, name: str, stage: int) -> Path:
    path = project / f"{name}.yaml"
    path.write_text(
        TRAIN_YAML.format(
            model=project / "model", data=project / "data", out=project / "runs" / name, stage=stage
        )
    )
    return path


WRONG = "I do not know."


def write_preferences(folder: Path) -> dict[str, int]:
    """A separable preference set (`labtax rank` format): the right answer beats "I do not know."
    for every question of the tiny records; split by question into reward, dpo, val and test."""
    questions = [*FACTS, *SKILLS, *RHYMES]
    splits = {
        "reward": questions[:12],
        "dpo": questions[:12],
        "val": questions[12:16],
        "test": questions[16:],
    }
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        lines = [
            json.dumps(
                {
                    "prompt": [{"role": "user", "content": q}],
                    "chosen": [{"role": "assistant", "content": a}],
                    "rejected": [{"role": "assistant", "content": WRONG}],
                    "leaf": "tiny",
                    "question_id": hashlib.sha256(q.encode()).hexdigest()[:16],
                    "split": split,
                    "reference": a,
                    "ranking": {"method": "pairs", "agreement": 2},
                    "provenance": {},
                }
            )
            + "\n"
            for q, a in rows
        ]
        (folder / f"{split}.jsonl").write_text("".join(lines))
    return {s: len(r) for s, r in splits.items()}


PREFERENCE_YAML = """\
model: {model}
preferences_dir: {prefs}
output_dir: {out}
schedule: {schedule}
nproc: {nproc}
engine: {engine}
pad_to_multiple_of: 1
defaults:
  lr: 3.0e-3
  epochs: {epochs}
  warmup_steps: 0
  effective_batch_size: 4
  max_seq_len: 96
  micro_batch_tokens: 256
  zero_stage: {stage}
phases:
  reward:
    lr: 1.0e-2
"""


def write_preference_config(
    project: Path,
    name: str,
    schedule: str = "[reward, dpo]",
    nproc: int = 1,
    stage: int = 2,
    epochs: int = 3,
    engine: str = "auto",
) -> Path:
    path = project / f"{name}.yaml"
    path.write_text(
        PREFERENCE_YAML.format(
            model=project / "model",
            prefs=project / "preferences",
            out=project / "runs" / name,
            schedule=schedule,
            nproc=nproc,
            stage=stage,
            epochs=epochs,
            engine=engine,
        )
    )
    return path
