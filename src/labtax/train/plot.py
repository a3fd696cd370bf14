"""loss.png: training and validation loss across the phases, one colour per phase."""

from __future__ import annotations

from pathlib import Path

from labtax.phases import PHASE_NAMES
from labtax.train import metrics


def plot_losses(run_dir: Path, schedule: list[str]) -> Path | None:
    """Write run_dir/loss.png (steps of later phases continue after earlier ones); None without metrics."""
    # matplotlib (an extra) loads slowly: imported only for the chart
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    rows = metrics.read(run_dir)
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    offset = 0
    for i, phase in enumerate(schedule):
        steps = [r for r in rows if r["phase"] == phase and r["kind"] == "step"]
        # Epoch 0 is the starting checkpoint's validation loss (eval_at_start).
        epochs = [
            r for r in rows if r["phase"] == phase and r["kind"] == "epoch" and r["val_loss"] is not None
        ]
        if not steps:
            continue
        color = f"C{i}"
        label = PHASE_NAMES.get(phase, phase)
        ax.plot(
            [offset + r["step"] for r in steps],
            [r["loss"] for r in steps],
            color=color,
            alpha=0.8,
            label=f"{label} train",
        )
        ax.plot(
            [offset + r["step"] for r in epochs],
            [r["val_loss"] for r in epochs],
            "o--",
            color=color,
            label=f"{label} validation",
        )
        offset += max(r["step"] for r in steps)
        ax.axvline(offset, color="grey", linewidth=0.5)
    ax.set_xlabel("optimizer step (cumulative over phases)")
    ax.set_ylabel("loss (per answer token; reward, dpo: per pair)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = run_dir / "loss.png"
    tmp = run_dir / ".loss.png.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out)
    return out
