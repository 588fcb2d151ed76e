#!/usr/bin/env bash
# One prepared GPU check: the smoke grid on CUDA, the pack trainer's throughput (a pack of 16
# against one model at a time), and the full metric suite at default sizes on one trained model.
# Run from the repository root on a machine with an NVIDIA GPU; writes its log to ${OUT:-.}/gpu_check.log.
set -uo pipefail
out=${OUT:-.}
export BENCHBENCH_DATA=${BENCHBENCH_DATA:-/tmp/benchbench-data}
python -m pip install -q -e . 2>&1 | tail -2
{
  nvidia-smi --query-gpu=name,memory.total --format=csv
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  time benchbench run --grid smoke --device cuda --results /tmp/gpu-results --no-progress
  benchbench bench --device cuda --pack-sizes 1,16 --steps 50 --warmup 10 --method dip_vae
  benchbench bench --device cuda --pack-sizes 1,16 --steps 50 --warmup 10 --method beta_vae
  time benchbench run --grid quick --device cuda --results /tmp/gpu-results --no-progress
} 2>&1 | tee "$out/gpu_check.log"
python scripts/time_metrics.py /tmp/gpu-results/quick --device cuda 2>&1 | tee -a "$out/gpu_check.log"
