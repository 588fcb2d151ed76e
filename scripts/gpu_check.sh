#!/usr/bin/env bash
# One prepared GPU check: the smoke grid on CUDA, the pack trainer's throughput (a pack of 16
# against one model at a time), the full metric suite at default sizes and with the fast profile on
# one trained model, and DCI's GPU trees against scikit-learn's on that model's codes.
# Run from the repository root on a machine with an NVIDIA GPU; writes its log to ${OUT:-.}/gpu_check.log.
# Device tool: carry .whl (python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12
# -d .whl platformdirs).
set -uo pipefail
out=${OUT:-.}
export BENCHBENCH_DATA=${BENCHBENCH_DATA:-/tmp/benchbench-data}
# The GPU image has no network: install without build isolation or dependencies, plus any wheels
# carried in .whl/ (platformdirs is the one dependency that image lacks).
if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps .whl/*.whl; fi
python3 -m pip install -q --no-build-isolation --no-deps -e . 2>&1 | tail -2
{
  nvidia-smi --query-gpu=name,memory.total --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  time python3 -m benchbench run --grid smoke --device cuda --results /tmp/gpu-results --no-progress
  python3 -m benchbench bench --device cuda --pack-sizes 1,16 --steps 50 --warmup 10 --method dip_vae
  python3 -m benchbench bench --device cuda --pack-sizes 1,16 --steps 50 --warmup 10 --method beta_vae
  time python3 -m benchbench run --grid quick --device cuda --results /tmp/gpu-results --no-progress
} 2>&1 | tee "$out/gpu_check.log"
python3 scripts/time_metrics.py /tmp/gpu-results/quick --device cuda 2>&1 | tee -a "$out/gpu_check.log"
python3 scripts/time_metrics.py /tmp/gpu-results/quick --device cuda --profile fast 2>&1 | tee -a "$out/gpu_check.log"
python3 scripts/dci_vs_sklearn.py /tmp/gpu-results/quick --device cuda --sklearn-seeds 1 2>&1 | tee -a "$out/gpu_check.log"
