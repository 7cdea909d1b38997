#!/usr/bin/env bash
# On a machine with CUDA, one command for the GPU path (issue 15): the CUDA tests (tests/test_cuda.py:
# a tiny grid, training with every corruption, denoising, each against the CPU), then the benchmark
# sections on cuda (matmul peak, stacked vs plain loop, % of peak, the default grid to its plateau,
# denoise throughput), in about 10 minutes. Figures go to benchmarks/results/gpu-<date>.json and the
# test log beside it. Run from anywhere; exits non-zero, naming the reason, without CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu.sh: no CUDA device (torch.cuda.is_available() is False)')"
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p benchmarks/results
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python -m pytest -q -rs tests/test_cuda.py tests/test_device_paths.py 2>&1 | tee "benchmarks/results/gpu-$stamp-tests.log"
timeout 540 python benchmarks/bench.py --device cuda --quick --json "benchmarks/results/gpu-$stamp.json"
echo "wrote benchmarks/results/gpu-$stamp.json and gpu-$stamp-tests.log"
