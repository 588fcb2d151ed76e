#!/usr/bin/env bash
# The baselines that need no training, scored on shapes2d with every metric at its default sizes:
# the untrained conv net with seeds 0, 1, 2; PCA, FastICA and the factors with seed 0.  Makes
# results/reference/baselines (run from the repository root; the first argument overrides
# "results/reference").
set -euo pipefail
out=${1:-results/reference}
score() { /usr/bin/time -f "$1 seed $2: %e s" benchbench score "baseline:$1" --dataset shapes2d --seed "$2" \
  --name baselines --results "$out" --device cpu --no-progress; }
for seed in 0 1 2; do score random "$seed"; done
for name in pca ica factors; do score "$name" 0; done
benchbench report baselines --results "$out"
