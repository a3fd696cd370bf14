"""The phases of a labtax run, in order: the one list every stage reads (config, mix, train, eval).

LAB's schedule is KT/1 -> KT/2 -> ST; the preference phases (a reward model, then DPO) follow.
"""

from __future__ import annotations

LAB_PHASES = ("kt1", "kt2", "st")  # the LAB schedule, in order: what `labtax mix` writes
TRAIN_PHASES = (*LAB_PHASES, "reward", "dpo")  # every phase `labtax train` runs, in order
PHASE_NAMES = {"kt1": "KT/1", "kt2": "KT/2", "st": "ST", "reward": "Reward", "dpo": "DPO"}  # as printed

# The taxonomy branches whose leaves each LAB phase trains on (mix splits knowledge by answer
# length between KT/1 and KT/2), and so the leaves its checkpoints are scored on.
PHASE_BRANCHES = {
    "kt1": ("knowledge",),
    "kt2": ("knowledge", "foundational_skills"),
    "st": ("compositional_skills",),
}
