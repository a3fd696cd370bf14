"""The phases of a labtax run, in order: the one list every stage reads (config, mix, train, eval).

LAB's schedule is KT/1 -> KT/2 -> ST; the preference phases (a reward model, then DPO) follow.
"Stacked" is the alternative to the LAB phases, not one of them: one phase on all three phases' own
samples at once (no replay), which the LAB follow-up study (arXiv 2412.13337) found as good as the
phased schedule and more sample-efficient. A run trains the LAB phases or stacked, never both.
"""

from __future__ import annotations

LAB_PHASES = ("kt1", "kt2", "st")  # the LAB schedule, in order
STACKED = "stacked"  # all of the LAB phases' own data in one phase
MIX_PHASES = (*LAB_PHASES, STACKED)  # the phase files `labtax mix` writes
# every phase `labtax train` runs, in order; stacked sits after st so that reward and dpo chain from it
TRAIN_PHASES = (*LAB_PHASES, STACKED, "reward", "dpo")
PHASE_NAMES = {  # as printed
    "kt1": "KT/1",
    "kt2": "KT/2",
    "st": "ST",
    STACKED: "Stacked",
    "reward": "Reward",
    "dpo": "DPO",
}

# The taxonomy branches whose leaves each supervised phase trains on (mix splits knowledge by answer
# length between KT/1 and KT/2), and so the leaves its checkpoints are scored on.
PHASE_BRANCHES = {
    "kt1": ("knowledge",),
    "kt2": ("knowledge", "foundational_skills"),
    "st": ("compositional_skills",),
    STACKED: ("knowledge", "foundational_skills", "compositional_skills"),
}
