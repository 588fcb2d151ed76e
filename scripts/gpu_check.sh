#!/usr/bin/env bash
# One prepared GPU check, about 8 minutes on one modern GPU. It prints, in this order:
#   1. the GPU and torch;
#   2. the smoke grid on CUDA (what `run` picks there: packs of 16, compiled step with CUDA graphs);
#   3. `bench`: the naive per-cell loop against packs of 1, 16, 32 and 64 models (model-steps/s and
#      each row's ratio to the naive loop), eager and compiled (CUDA graphs), for dip_vae;
#   4. bf16 layers against fp32 (`--precision both`), eager, for a pack of 64;
#   5. every per-model metric but DCI-ES at default sizes, on synthetic codes and on a smoke model's mean and
#      sampled codes: seconds in the network and the rest (`bench --metrics`).
# Run from the repository root on a machine with an NVIDIA GPU; writes ${OUT:-.}/gpu_check.log.
# Device tool: carry .whl (python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12
# -d .whl platformdirs filelock).
set -uo pipefail
out=${OUT:-.}
export BENCHBENCH_DATA=${BENCHBENCH_DATA:-/tmp/benchbench-data}
# The GPU image has no network: install without build isolation or dependencies, plus any wheels
# carried in .whl/.
if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps .whl/*.whl; fi
python3 -m pip install -q --no-build-isolation --no-deps -e . 2>&1 | tail -2
{
  nvidia-smi --query-gpu=name,memory.total --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  time timeout 200 python3 -m benchbench run --grid smoke --device cuda --results /tmp/gpu-results --no-progress
  python3 -c "
import json, pathlib
for p in sorted(pathlib.Path('/tmp/gpu-results/smoke/cells').glob('*/status.json')):
    s = json.loads(p.read_text()); print(p.parent.name, s['status'], s.get('step'), s.get('steps_per_second'))"
  timeout 200 python3 -m benchbench bench --device cuda --method dip_vae --pack-sizes 1,16,32,64 --compile both \
    --steps 100 --warmup 20
  timeout 60 python3 -m benchbench bench --device cuda --method dip_vae --pack-sizes 64 --precision both \
    --steps 100 --warmup 20
  timeout 240 python3 -m benchbench bench --device cuda --run /tmp/gpu-results/smoke --no-progress --metrics \
    beta_vae_score,dci,downstream_task,factor_vae_score,fairness,infomec,irs,latent_correlation,mcc,mig,modularity_explicitness,reconstruction_error,sap,unsupervised
} 2>&1 | tee "$out/gpu_check.log"
