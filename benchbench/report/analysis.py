"""Statistics a reviewer asks of a run, as pure functions of its tidy tables (``cells.csv``,
``aggregate.csv``): an interval for every mean over seeds, whether two methods' models are
distinguishable, and whether the metrics rank models alike.  Every random draw comes from a
fixed seed, so two reports of a run stay byte-identical.  What each number means and when not
to trust it: ``docs/statistics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

#: Bootstrap resamples of every interval, and their seed: fixed, so reports are reproducible.
RESAMPLES = 10_000
SEED = 0
#: Below this many seeds an interval is not computed (a bootstrap of 1–2 values is no interval).
MIN_N = 3


def bootstrap_interval(values, level: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of ``values`` (NaN left out): the
    ``(1 ± level)/2`` quantiles of the means of :data:`RESAMPLES` resamples with replacement,
    drawn from :data:`SEED`; ``(nan, nan)`` with fewer than :data:`MIN_N` values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size < MIN_N:
        return math.nan, math.nan
    rng = np.random.default_rng(SEED)
    means = x[rng.integers(0, x.size, size=(RESAMPLES, x.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def superiority(a, b, higher: bool = True) -> tuple[float, float]:
    """``(P(A better), p)``: the probability that a model drawn from ``a`` scores better than one
    drawn from ``b`` (above, or below when lower is better; ties count a half: the Mann–Whitney U
    over ``n_a · n_b``), and the two-sided p-value of the exact permutation test of U — every
    split of the pooled scores into groups of ``n_a`` and ``n_b`` when there are at most 20,000,
    else 20,000 drawn from :data:`SEED`.  NaN when a side has no score."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan
    pooled = np.concatenate([a, b])
    beats = (pooled[:, None] > pooled[None, :]) + 0.5 * (pooled[:, None] == pooled[None, :])
    masks = _splits(pooled.size, a.size)
    u = np.einsum("si,ij,sj->s", masks, beats, 1.0 - masks)
    observed = u[0]  # the first split is the observed one
    centre = a.size * b.size / 2
    p = float(np.mean(np.abs(u - centre) >= abs(observed - centre) - 1e-9))
    share = observed / (a.size * b.size)
    return float(share if higher else 1.0 - share), p


def _splits(n: int, k: int, limit: int = 20_000) -> np.ndarray:
    """Membership masks ``(splits, n)`` of the first group: the observed split (the first ``k``)
    first, then every other choice of ``k`` of ``n`` when there are at most ``limit`` in all,
    else ``limit − 1`` drawn from :data:`SEED`."""
    from itertools import combinations

    if math.comb(n, k) <= limit:
        chosen = [list(c) for c in combinations(range(n), k)]  # the observed split comes first
    else:
        rng = np.random.default_rng(SEED)
        chosen = [list(range(k))] + [rng.permutation(n)[:k] for _ in range(limit - 1)]
    masks = np.zeros((len(chosen), n))
    for row, members in enumerate(chosen):
        masks[row, members] = 1.0
    return masks


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p the exact permutation test of :func:`superiority` can give with
    ``n_a`` and ``n_b`` distinct scores: 2 / C(n_a + n_b, n_a) (ties only raise it).  Above a
    significance level, no outcome of the run could show a difference: the question is not
    testable with those seeds."""
    return min(1.0, 2 / math.comb(n_a + n_b, n_a)) if n_a and n_b else math.nan


def seeds_to_compare(significance: float) -> int:
    """The fewest seeds a side with which :func:`superiority` can reach p below ``significance``."""
    return next(n for n in range(1, 100) if smallest_p(n, n) < significance)


def models_for_trend(significance: float) -> int:
    """The fewest models (distinct values) with which :func:`trend` can reach p below ``significance``."""
    return next(n for n in range(2, 100) if 1 / math.factorial(n) < significance)


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank().to_numpy()


def _pairings(x, y, limit: int) -> tuple[float, np.ndarray, float]:
    """Spearman's ρ of ``y`` against ``x`` (no NaN), the ρ of every pairing of the ``y`` with the
    ``x`` when there are at most ``limit``, else of ``limit`` drawn from :data:`SEED` (the observed
    one among them), and the best ordering's ρ."""
    rx, ry = _ranks(x), _ranks(y)
    if math.factorial(x.size) <= limit:
        from itertools import permutations

        orders = np.array(list(permutations(range(x.size))))
    else:
        rng = np.random.default_rng(SEED)
        orders = np.stack([np.arange(x.size)] + [rng.permutation(x.size) for _ in range(limit - 1)])
    cx, cy = rx - rx.mean(), ry - ry.mean()
    scale = np.linalg.norm(cx) * np.linalg.norm(cy)  # the same for every pairing of the same values
    best = float(np.sort(cy)[np.argsort(np.argsort(x, kind="stable"))] @ cx / scale)
    return float(cy @ cx / scale), cy[orders] @ cx / scale, best


def _kept(x, y) -> tuple[np.ndarray, np.ndarray] | None:
    """The pairs of ``x`` and ``y`` without a NaN, or ``None`` where fewer than two or either is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    return None if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0 else (x, y)


def _floor(rhos: np.ndarray, best: float) -> float:
    """The smallest one-sided p the pairings allow: the best ordering's, and never below one
    pairing in all (drawn ones may miss the best ordering; the observed one is always among them)."""
    return max(float(np.mean(rhos >= best - 1e-12)), 1 / rhos.size)


def trend(x, y, limit: int = 20_000) -> tuple[float, float, float]:
    """``(ρ, p, smallest p)``: Spearman's ρ of ``y`` against ``x`` (pairs with a NaN left out),
    the one-sided p that ``y`` rises with ``x`` — the share of pairings of the ``y`` with the
    ``x`` whose ρ is at least the observed one, over every permutation when there are at most
    ``limit``, else ``limit`` drawn from :data:`SEED` (the observed one among them) — and the
    smallest p any outcome could give (the best ordering's)."""
    kept = _kept(x, y)
    if kept is None:
        return math.nan, math.nan, math.nan
    observed, rhos, best = _pairings(*kept, limit)
    return observed, float(np.mean(rhos >= observed - 1e-12)), _floor(rhos, best)


def two_sided_trend(x, y, limit: int = 20_000) -> tuple[float, float, float]:
    """``(ρ, p, smallest p)``: :func:`trend`'s ρ with the two-sided permutation p (twice the
    smaller one-sided p, at most 1, over the same pairings) and its floor, for a claim that ``y``
    and ``x`` are unrelated."""
    kept = _kept(x, y)
    if kept is None:
        return math.nan, math.nan, math.nan
    observed, rhos, best = _pairings(*kept, limit)
    rises, falls = np.mean(rhos >= observed - 1e-12), np.mean(rhos <= observed + 1e-12)
    return observed, min(1.0, 2 * float(min(rises, falls))), min(1.0, 2 * _floor(rhos, best))


def metric_agreement(table: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """Spearman rank correlation of every pair of ``outputs`` over the rows of ``table`` (the
    models of one dataset), each pair over the models that have both: ``(outputs, outputs)``."""
    return table[outputs].astype(float).corr(method="spearman", min_periods=MIN_N)


def in_words(name_a: str, name_b: str, output: str, p_better: float, p: float, n_a: int, n_b: int) -> str:
    """One sentence stating a comparison, as a reader should take it."""
    if math.isnan(p_better):
        return f"{name_a} vs {name_b} on {output}: not testable (no models on one side)"
    sizes = f"n = {n_a} and {n_b}"
    if p > 0.05:
        return (
            f"{name_a} and {name_b} are not distinguishable on {output} with {sizes} "
            f"(P({name_a} better) = {p_better:.2f}, permutation p = {p:.2g})"
        )
    leader = name_a if p_better > 0.5 else name_b
    return f"{leader} scores better on {output} ({sizes}; P({name_a} better) = {p_better:.2f}, p = {p:.2g})"


def comparisons(
    table: pd.DataFrame,
    dataset: str,
    higher: dict[str, bool],
    select_by: str,
    select_higher: bool,
    words: Callable[[str], str] = str,
) -> pd.DataFrame:
    """Every pair of method variants of ``dataset`` on every output of ``higher`` (output → whether
    higher is better): over all their trained models, and over the seeds of each variant's best
    configuration (the best mean ``select_by``, as a study picks its rows).  A row per comparison with
    ``P(A better)``, the permutation p, both n and the sentence that says it (naming the output
    by ``words``)."""
    from itertools import combinations

    rows = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    scopes: dict[str, dict[str, pd.DataFrame]] = {"all models": {v: g for v, g in rows.groupby("variant")}}
    if select_by in rows:
        best = {}
        for variant, group in rows.groupby("variant"):
            means = group.groupby("label")[select_by].mean().dropna()
            if not means.empty:
                best[variant] = group[group["label"] == (means.idxmax() if select_higher else means.idxmin())]
        scopes["best configurations"] = best
    out = []
    for scope, groups in scopes.items():
        for a, b in combinations(sorted(groups), 2):
            for output, up in higher.items():
                if output not in rows:
                    continue
                xa, xb = groups[a][output].dropna(), groups[b][output].dropna()
                p_better, p = superiority(xa, xb, up)
                out.append(
                    {
                        "dataset": dataset, "scope": scope, "output": output, "a": a, "b": b,
                        "n_a": len(xa), "n_b": len(xb), "p_a_better": p_better, "p_value": p,
                        "in words": in_words(a, b, words(output), p_better, p, len(xa), len(xb)),
                    }
                )  # fmt: skip
    return pd.DataFrame(out)


def agreeing_pairs(agreement: pd.DataFrame, threshold: float = 0.8, words: Callable[[str], str] = str) -> list[str]:
    """The pairs of outputs whose rank correlation is at least ``threshold`` in size, as text
    (naming each output by ``words``)."""
    names = list(agreement.columns)
    return [
        f"{words(a)} and {words(b)} (ρ = {agreement.at[a, b]:.2f})"
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if abs(agreement.at[a, b]) >= threshold
    ]


def variance_shares(table: pd.DataFrame, dataset: str, outputs: list[str]) -> pd.DataFrame:
    """Per method and output, how much of the variance over its trained models of ``dataset`` lies
    between hyperparameter settings and how much within them, between seeds (:func:`variance_split`
    of one method's models): ``between`` + ``within`` = 1; NaN where the models do not vary."""
    rows = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    out = []
    for method, models in rows.groupby("method"):
        for output in outputs:
            split = variance_split(models, output)
            if split["models"]:
                out.append(
                    {"dataset": dataset, "method": method, "output": output, "models": split["models"],
                     "configurations": split["settings"], "between": split["between_settings"],
                     "within": split["between_seeds"]}
                )  # fmt: skip
    return pd.DataFrame(out)


def variance_split(models: pd.DataFrame, output: str) -> dict[str, float]:
    """How the variance of ``output`` over ``models`` (rows with ``method``, ``label`` — one per
    hyperparameter setting — and the output) splits between methods, between the settings of a
    method, and between the seeds of a setting: the sums of squares of a nested analysis of
    variance over the total, so the three ``between_*`` shares sum to 1 (NaN where the models do
    not vary); ``models``, ``methods`` and ``settings`` count what they were computed over."""
    values = models[["method", "label", output]].dropna()
    x = values[output].astype(float)
    total = float(((x - x.mean()) ** 2).sum())
    method_means = values.groupby("method")[output].transform("mean")
    setting_means = values.groupby(["method", "label"])[output].transform("mean")
    parts = {
        "between_methods": float(((method_means - x.mean()) ** 2).sum()),
        "between_settings": float(((setting_means - method_means) ** 2).sum()),
        "between_seeds": float(((x - setting_means) ** 2).sum()),
    }
    shares = {k: v / total if total > 0 else math.nan for k, v in parts.items()}
    counts = {
        "models": len(x),
        "methods": values["method"].nunique(),
        "settings": len(values.groupby(["method", "label"])),
    }
    return {**shares, **counts}


#: The four ways a model chosen by one metric on one dataset (with one seed) is compared with a
#: model drawn at random, as unsupervised model selection is judged: on the same or another
#: metric, on the same or another dataset, always with another seed of the chosen configuration.
TRANSFERS = (
    ("same metric, same dataset", False, False),
    ("same metric, other dataset", False, True),
    ("other metric, same dataset", True, False),
    ("other metric, other dataset", True, True),
)


def selection_transfer(
    table: pd.DataFrame, outputs: dict[str, bool], draws: int = 10_000, seed: int = SEED
) -> pd.DataFrame:
    """The probability that a configuration chosen for being best on one output (``outputs``:
    output → whether higher is better) on one dataset, judged by one seed's model, beats a model
    drawn at random when judged by another seed's model — on the same or another output, on the
    same or another dataset (:data:`TRANSFERS`; a configuration is a ``label``, the same on
    every dataset).  Each of ``draws`` draws (from ``seed``) picks an output, a dataset and a seed
    to choose by, then the output and dataset it is judged on; a tie counts a half.  A row per
    transfer with its probability and how many draws could be made (NaN where none could: fewer
    than two seeds, outputs or datasets)."""
    trained = table[table["status"] == "trained"]
    labels, seeds = sorted(set(trained["label"])), sorted(set(trained["seed"]))
    grids = {}  # (output, dataset) → (configurations × seeds), NaN where a model has no value
    for output in (o for o in outputs if o in trained):
        for dataset, frame in trained.groupby("dataset"):
            grid = frame.pivot_table(index="label", columns="seed", values=output, aggfunc="first")
            grid = grid.reindex(index=labels, columns=seeds).to_numpy(dtype=np.float64)
            if not np.isnan(grid).all():
                grids[(output, dataset)] = grid
    keys = list(grids)
    pools = {k: grids[k][~np.isnan(grids[k])] for k in keys}
    # what each draw reads, worked out once: the seeds a choice can be made by, the configuration
    # each of them chooses, the seeds each configuration has a value for
    usable = {k: np.flatnonzero((~np.isnan(g)).sum(axis=0) > 1) for k, g in grids.items()}
    best = {
        k: {int(s): int(np.nanargmax(g[:, s]) if outputs[k[0]] else np.nanargmin(g[:, s])) for s in usable[k]}
        for k, g in grids.items()
    }
    valid = {k: [np.flatnonzero(~np.isnan(row)) for row in g] for k, g in grids.items()}
    rng = np.random.default_rng(seed)
    rows = []
    for name, other_output, other_dataset in TRANSFERS:
        targets = {
            key: [k for k in keys if (k[0] != key[0]) == other_output and (k[1] != key[1]) == other_dataset]
            for key in keys
        }
        wins, made = 0.0, 0
        for _ in range(draws if keys else 0):
            key = keys[rng.integers(len(keys))]
            if usable[key].size == 0 or not targets[key]:
                continue
            s = usable[key][rng.integers(usable[key].size)]
            chosen = best[key][int(s)]
            judged = targets[key][rng.integers(len(targets[key]))]
            others = valid[judged][chosen]
            others = others[others != s]
            if others.size == 0:
                continue
            mine = grids[judged][chosen, others[rng.integers(others.size)]]
            rival = pools[judged][rng.integers(pools[judged].size)]
            higher = outputs[judged[0]]
            wins += 0.5 if mine == rival else float(mine > rival if higher else mine < rival)
            made += 1
        rows.append({"transfer": name, "probability": wins / made if made else math.nan, "draws": made})
    return pd.DataFrame(rows)


def paired_rank_correlation(table: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Spearman's ρ over the trained models between each pair of columns (say an output on the
    mean and on the sampled representation), per dataset, with how many models had both."""
    trained = table[table["status"] == "trained"]
    rows = []
    for dataset, models in trained.groupby("dataset"):
        for a, b in pairs:
            both = models[[a, b]].astype(float).dropna() if a in models and b in models else pd.DataFrame()
            rho = both[a].corr(both[b], method="spearman") if len(both) >= MIN_N else math.nan
            rows.append({"dataset": dataset, "a": a, "b": b, "models": len(both), "rho": float(rho)})
    return pd.DataFrame(rows, columns=["dataset", "a", "b", "models", "rho"])
