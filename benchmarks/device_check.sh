#!/usr/bin/env bash
# For a session lent a GPU: the CUDA tests and every GPU benchmark of the project, figures printed,
# in under 8 minutes (each step has its own time limit). Run from anywhere:
#     bash benchmarks/device_check.sh            # MNIST_ROOT=/path/with/MNIST/raw for the MNIST rows
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" HPSEARCH_CACHE="${HPSEARCH_CACHE:-/tmp/hpsearch-cache}"
MNIST_ROOT="${MNIST_ROOT:-$PWD/../shared/data}"
PY="${PYTHON:-python}"
step() { echo; echo "=== $1 ($(date +%T))"; }

step "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

step "CUDA tests (pytest -k cuda), limit 90 s"
timeout 90 "$PY" -m pytest -q -p no:cacheprovider -k cuda tests/ 2>&1 | tail -5

step "fused vs one at a time on the GPU: 64 and 128 trials (settings a, b), limit 240 s"
timeout 240 "$PY" benchmarks/fused.py --device cuda --trials 64 128 --settings a b --epochs 3 --repeats 1

step "fused on MNIST on the GPU (setting c: 64 trials, 12,000 training images), limit 90 s"
timeout 90 "$PY" benchmarks/fused.py --device cuda --settings c --mnist-trials 64 --mnist-subset 12000 --repeats 1 \
    --epochs 2 --mnist-root "$MNIST_ROOT"

step "one trial's speed on the GPU (benchmarks/trial_speed.py), limit 60 s"
timeout 60 "$PY" benchmarks/trial_speed.py --device cuda --repeats 1 --epochs 1 --cli-repeats 0 --data-root "$MNIST_ROOT" 2>&1 | tail -25

echo; echo "=== done ($(date +%T))"
