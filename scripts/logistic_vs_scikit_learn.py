"""How far the downstream task's batched logistic regression is from scikit-learn's, beside how far
scikit-learn is from itself: docs/metrics.md and docs/performance.md quote what this prints.

On each draw (the metric's own: per training size, ``n`` training then ``--num-test`` test codes of
a trained model, or of synthetic codes without ``--run``), the per-factor test accuracy of
``solver = "batched"`` is compared with ``solver = "scikit-learn"`` (``LogisticRegressionCV(Cs=10,
cv=KFold(5), max_iter=1000)``), and scikit-learn with the latents in reverse order — the same
problem, which scikit-learn's L-BFGS runs along another path — with scikit-learn as given.  Also
printed: each solver's seconds, and the spread of scikit-learn's accuracy over the draws (the
metric's own variation from its seed).

    python scripts/logistic_vs_scikit_learn.py [--run RUN [--cell ID]] [--draws 3] [--sizes 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchbench.evaluation.bench import trained_or_synthetic
from benchbench.metrics.downstream_task import regression_accuracies
from benchbench.plugin.representation import sample_codes


def timed(*args, **options) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    _, test = regression_accuracies(*args, **options)
    return test, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a run with kept weights (else synthetic codes of shapes2d)")
    parser.add_argument("--cell")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--num-test", type=int, default=5000)
    args = parser.parse_args()
    data, model = trained_or_synthetic(args.run, args.cell)
    threads = torch.get_num_threads()
    print(f"codes: {model.label}; {args.draws} draws; {args.num_test} test codes; torch threads {threads}")
    print("labels  seconds batched / scikit-learn   |Δ accuracy| per factor, mean / max:"
          "  batched vs scikit-learn   scikit-learn reversed vs as given   scikit-learn's std over draws")  # fmt: skip
    for n in (int(s) for s in args.sizes.split(",")):
        ours, theirs, reversed_, seconds = [], [], [], np.zeros(2)
        for seed in range(args.draws):
            rng = np.random.default_rng(seed)
            x, y = sample_codes(data, model, n, rng)
            xt, yt = sample_codes(data, model, args.num_test, rng)
            a, ta = timed(x, y, xt, yt, "default", "batched")
            b, tb = timed(x, y, xt, yt, "default", "scikit-learn")
            reversed_.append(timed(x[:, ::-1], y, xt[:, ::-1], yt, "default", "scikit-learn")[0])
            ours.append(a), theirs.append(b)
            seconds += (ta, tb)
        ours, theirs, reversed_ = np.array(ours), np.array(theirs), np.array(reversed_)
        d_ours, d_self = np.abs(ours - theirs), np.abs(reversed_ - theirs)
        spread = theirs.std(axis=0).mean() if args.draws > 1 else float("nan")
        print(f"{n:>6}  {seconds[0] / args.draws:>7.1f} / {seconds[1] / args.draws:>6.1f}"
              f"  {d_ours.mean():>20.4f} / {d_ours.max():.4f}  {d_self.mean():>22.4f} / {d_self.max():.4f}"
              f"  {spread:>24.4f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
