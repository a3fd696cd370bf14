#!/usr/bin/env bash
# The README's main job: set up, then generate synthetic data for the leaves changed against
# the base (offline, with the embedded teacher unless labtax.yaml or the arguments say otherwise).
# Extra arguments go to `labtax generate`, e.g. `bash scripts/run.sh --all` on a fresh clone,
# where nothing has changed yet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/labtax diff
.venv/bin/labtax generate "$@"
