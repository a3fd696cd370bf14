"""A trained reward model: load it, score conversations, and its pair accuracy on rank's test split.

Scores are read as `labtax train` trained them: the score head on the last token of the
rendered conversation (what AutoModelForSequenceClassification reads for an unpadded sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtax.errors import LabtaxError
from labtax.models.student import quiet_transformers
from labtax.preferences import read_preferences, split_path


@dataclass
class RewardModel:
    """A loaded one-output sequence-classification model and its tokenizer."""

    path: Path
    model: Any
    tokenizer: Any

    @classmethod
    def load(cls, folder: str | Path) -> RewardModel:
        path = Path(folder)
        transformers, torch = quiet_transformers("eval", "reward scores")
        try:
            config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
            if getattr(config, "num_labels", None) != 1 or not any(
                a.endswith("ForSequenceClassification") for a in config.architectures or ()
            ):
                raise LabtaxError(
                    f"{folder}: not a reward model "
                    "(a one-output sequence classifier, as `labtax train` writes for a reward phase)"
                )
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                path, dtype=torch.float32, local_files_only=True
            ).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise LabtaxError(f"{folder}: cannot load a reward model ({str(exc).splitlines()[0]})") from None
        return cls(path, model, tokenizer)

    def scores(
        self, conversations: list[list[dict[str, str]]], batch_size: int = 8, max_len: int = 2048
    ) -> list[float]:
        """The reward of each conversation (a prompt and one answer)."""
        # torch loads in seconds: imported only where a model runs
        import torch

        texts = [self.tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"][:max_len] for t in texts]
        out: list[float] = []
        with torch.no_grad():
            for start in range(0, len(ids), batch_size):
                batch = ids[start : start + batch_size]
                width = max(len(i) for i in batch)
                tokens = torch.tensor([i + [0] * (width - len(i)) for i in batch])
                mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in batch])
                hidden = self.model.base_model(input_ids=tokens, attention_mask=mask).last_hidden_state
                last = hidden[torch.arange(len(batch)), mask.sum(1) - 1]
                out += self.model.score(last).squeeze(-1).float().tolist()
        return out


def pair_accuracy(model: RewardModel, pairs: list[dict[str, Any]]) -> float | None:
    """Share of pairs whose chosen answer gets the higher reward (None without pairs)."""
    if not pairs:
        return None
    chosen = model.scores([p["prompt"] + p["chosen"] for p in pairs])
    rejected = model.scores([p["prompt"] + p["rejected"] for p in pairs])
    return sum(c > r for c, r in zip(chosen, rejected, strict=True)) / len(pairs)


def split_accuracy(model: RewardModel, preferences_dir: Path) -> dict[str, Any]:
    """The reward model's pair accuracy on the test split (what the run's summary reports)."""
    pairs = read_preferences(split_path(preferences_dir, "test"), missing_ok=True)
    return {"test_accuracy": pair_accuracy(model, pairs), "test_pairs": len(pairs)}
