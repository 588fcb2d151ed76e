"""The analyses of Locatello et al. 2019 on constructed runs whose answers are known: the share of
variance between methods, settings and seeds; how often a configuration chosen on one metric,
dataset and seed beats a random model elsewhere; rank correlations of paired outputs; and the
study's claims judged on runs built to support them, to contradict them, or too small to test."""

import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from benchbench.report.analysis import paired_rank_correlation, selection_transfer, two_sided_trend, variance_split
from benchbench.studies.locatello2019 import SUPERVISED, claims
from benchbench.studies.locatello2020 import FEW_LABELS

METHOD_EFFECTS = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])  # 6 methods
SETTING_EFFECTS = 0.5 * METHOD_EFFECTS  # 6 settings each, summing to 0 within a method
SEED_EFFECTS = 0.1 * np.array([-2.0, -1.0, 0.0, 1.0, 2.0])  # 5 seeds, summing to 0 within a setting


def constructed() -> pd.DataFrame:
    """6 methods × 6 settings × 5 seeds of ``value = method + setting + seed`` effects."""
    rows = []
    for (m, a), (k, b), (s, c) in itertools.product(
        enumerate(METHOD_EFFECTS), enumerate(SETTING_EFFECTS), enumerate(SEED_EFFECTS)
    ):
        rows.append({"method": f"m{m}", "label": f"m{m} (h = {k})", "seed": s, "value": a + b + c})
    return pd.DataFrame(rows)


def test_the_variance_splits_between_methods_settings_and_seeds_as_constructed():
    # a balanced nested design: each sum of squares is (models per level) × (sum of squared effects)
    methods = 6 * 5 * float(np.sum(METHOD_EFFECTS**2))
    settings = 6 * 5 * float(np.sum(SETTING_EFFECTS**2))
    seeds = 36 * float(np.sum(SEED_EFFECTS**2))
    total = methods + settings + seeds
    split = variance_split(constructed(), "value")
    assert split["between_methods"] == pytest.approx(methods / total, rel=1e-12)  # 525 / 659.85
    assert split["between_settings"] == pytest.approx(settings / total, rel=1e-12)
    assert split["between_seeds"] == pytest.approx(seeds / total, rel=1e-12)
    assert (split["models"], split["methods"], split["settings"]) == (180, 6, 36)
    flat = constructed().assign(value=1.0)
    assert np.isnan(variance_split(flat, "value")["between_methods"])  # nothing varies: no shares


def transfer_run(reverse_second: bool, seeds: int = 3) -> pd.DataFrame:
    """6 configurations on two datasets, two outputs (equal), every seed alike: on ``a`` the
    quality is the configuration's rank; on ``b`` the same, or reversed."""
    rows = []
    for dataset, rank, seed in itertools.product(("a", "b"), range(6), range(seeds)):
        quality = -rank if (dataset == "b" and reverse_second) else rank
        rows.append({"dataset": dataset, "label": f"c{rank}", "seed": seed, "status": "trained",
                     "x.score": float(quality), "y.score": float(quality)})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_choice_transfers_where_the_ranking_holds_and_fails_where_it_reverses():
    # the chosen configuration is the best of 6: it beats a random model unless that is itself (a tie, a half)
    best, worst = 1 - 1 / 12, 1 / 12
    same = selection_transfer(transfer_run(False), {"x.score": True, "y.score": True}, draws=4000)
    assert same["probability"].to_numpy() == pytest.approx([best] * 4, abs=0.015)
    assert (same["draws"] == 4000).all()
    flipped = selection_transfer(transfer_run(True), {"x.score": True, "y.score": True}, draws=4000)
    by = dict(zip(flipped["transfer"], flipped["probability"]))
    assert by["same metric, same dataset"] == pytest.approx(best, abs=0.015)
    assert by["other metric, same dataset"] == pytest.approx(best, abs=0.015)
    assert by["same metric, other dataset"] == pytest.approx(
        worst, abs=0.015
    )  # the best on one is the worst on the other
    assert by["other metric, other dataset"] == pytest.approx(worst, abs=0.015)


def test_a_lower_is_better_output_chooses_its_lowest_and_one_seed_allows_no_transfer():
    run = transfer_run(False).assign(**{"x.score": lambda f: -f["x.score"]})  # now lower is better on x
    found = selection_transfer(run, {"x.score": False, "y.score": True}, draws=2000)
    assert found["probability"].to_numpy() == pytest.approx([1 - 1 / 12] * 4, abs=0.02)
    single = selection_transfer(transfer_run(False, seeds=1), {"x.score": True}, draws=100)
    assert single["draws"].tolist() == [0, 0, 0, 0] and single["probability"].isna().all()  # no other seed to judge by


def test_paired_outputs_rank_alike_or_opposite_and_too_few_models_give_no_rho():
    x = np.array([0.1, 0.5, 0.2, 0.9, 0.7])
    table = pd.DataFrame({"dataset": "d", "status": "trained", "m.a": x, "m@sampled.a": x**3, "m@sampled.b": -x})
    found = paired_rank_correlation(table, [("m.a", "m@sampled.a"), ("m.a", "m@sampled.b")])
    assert found["rho"].tolist() == pytest.approx([1.0, -1.0]) and found["models"].tolist() == [5, 5]
    few = paired_rank_correlation(table.iloc[:2], [("m.a", "m@sampled.a")])
    assert np.isnan(few["rho"][0]) and few["models"][0] == 2


def locatello_run(
    tc_falls: bool, datasets=("a", "b"), seeds: int = 5, methods=("beta_vae", "factor_vae")
) -> pd.DataFrame:
    """Models of two methods × 6 settings × ``seeds`` seeds on ``datasets``: the sampled total
    correlation falls (or rises) with each method's strength; every supervised score is the
    setting's rank (reversed on the second dataset) plus a small seed effect, the methods alike."""
    strengths = {"beta_vae": ("hp.beta", [1, 2, 4, 6, 8, 16]), "factor_vae": ("hp.gamma", [10, 20, 30, 40, 50, 100])}
    rows = []
    for d, dataset in enumerate(datasets):
        for method in methods:
            hp, values = strengths[method]
            for k, value in enumerate(values):
                for seed in range(seeds):
                    score = (5 - k if d else k) + 0.01 * seed
                    tc = (1.0 / value if tc_falls else float(value)) + 1e-4 * seed
                    label = f"{method} ({hp} = {value})"
                    row = {"dataset": dataset, "method": method, "label": label, "seed": seed, "status": "trained"}
                    row.update({hp: float(value), "unsupervised@sampled.gaussian_total_correlation": tc})
                    row.update({output: score for output in SUPERVISED})
                    rows.append(row)
    return pd.DataFrame(rows)


def judged(table: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    """Each claim's (verdict, evidence) by (dataset, the claim's first four words)."""
    cache = {}
    once = lambda key, compute: cache[key] if key in cache else cache.setdefault(key, compute())  # noqa: E731
    report = SimpleNamespace(table=table, datasets=sorted(set(table["dataset"])), once=once)
    return {(c.dataset, " ".join(c.claim.split()[:4])): (c.verdict, c.evidence) for c in claims(report)}


TC, VARIANCE = "Stronger regularization lowers the", "Hyperparameters and seeds matter"
CHOSEN_ON, CHOSEN_BY = "A configuration chosen on", "A configuration chosen by"
UNLABELLED, EFFICIENCY = "Without labels good models", "More disentanglement does not"


def test_the_study_s_claims_are_supported_or_not_as_the_run_was_built():
    supported = judged(locatello_run(tc_falls=True))
    assert {k: v[0] for k, v in supported.items() if not k[1].startswith((UNLABELLED, EFFICIENCY))} == {
        ("a", TC): "supported", ("a", VARIANCE): "supported", ("b", TC): "supported",
        ("b", VARIANCE): "supported", ("every dataset", CHOSEN_ON): "supported",
        ("every dataset", CHOSEN_BY): "not supported",
    }  # fmt: skip
    built = locatello_run(tc_falls=True).query("dataset == 'a' and method == 'beta_vae'")
    rho = spearmanr(built["hp.beta"], built["unsupervised@sampled.gaussian_total_correlation"]).statistic
    assert f"beta_vae: ρ = {rho:.2f} over 30 models, p = 5e-05" in supported[("a", TC)][1]  # 1 of 20,000
    assert "0% between methods" in supported[("a", VARIANCE)][1]  # the methods are built alike
    rising = judged(locatello_run(tc_falls=False))
    assert rising[("a", TC)][0] == "not supported" and f"ρ = {-rho:.2f}" in rising[("a", TC)][1]
    alike = locatello_run(tc_falls=True)
    alike.loc[alike["dataset"] == "b", list(SUPERVISED)] = alike.loc[alike["dataset"] == "a", list(SUPERVISED)].values
    assert judged(alike)[("every dataset", CHOSEN_ON)][0] == "not supported"  # the ranking transfers


#: Ranks of 7 models that Spearman's ρ calls unrelated to 1 … 7 (ρ = 0).
UNRELATED = [5, 1, 6, 3, 7, 2, 4]
EFFICIENCY_OF = "downstream_task.logistic_regression:sample_efficiency"


def scored(unsupervised, efficiency, n: int = 7) -> pd.DataFrame:
    """``n`` models of one dataset whose supervised metrics all rise 1 … n, with the given sampled
    total correlation and logistic-regression sample efficiency per model."""
    rows = [
        {"dataset": "a", "method": "beta_vae", "label": f"β = {i}", "seed": 0, "status": "trained", "hp.beta": i + 1,
         **dict.fromkeys(SUPERVISED, float(i + 1)), "unsupervised@sampled.gaussian_total_correlation": u,
         EFFICIENCY_OF: e}
        for i, (u, e) in enumerate(zip(unsupervised[:n], efficiency[:n]))
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_good_models_found_without_labels_and_sample_efficiency_claims_as_built():
    """A sampled total correlation that falls as every metric rises ranks the models as the metrics
    do (the claim that none does is not supported); one unrelated to them supports it. Sample
    efficiency that rises with the metrics contradicts §4.5; unrelated, it supports it; on 3 models
    neither can be tested (no one-sided p below 1/6, no two-sided below 1/3)."""
    ranks = list(range(1, 8))
    follows = judged(scored([8.0 - r for r in ranks], ranks))
    assert follows[("a", UNLABELLED)][0] == "not supported"
    assert "6 of 6 metrics significant (ρ -1.00 to -1.00)" in follows[("a", UNLABELLED)][1]
    assert (
        follows[("a", EFFICIENCY)][0] == "not supported"
        and "ρ = 1.00, p (rises) = 0.0002" in (follows[("a", EFFICIENCY)][1])
    )  # 1 of the 7! = 5,040 pairings reaches ρ = 1
    unrelated = judged(scored([float(r) for r in UNRELATED], UNRELATED))
    rho = spearmanr(ranks, UNRELATED).statistic
    assert (
        unrelated[("a", UNLABELLED)][0] == "supported"
        and f"(ρ {rho:.2f} to {rho:.2f})" in unrelated[("a", UNLABELLED)][1]
    )
    assert unrelated[("a", EFFICIENCY)][0] == "supported"
    few = judged(scored([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], n=3))
    assert few[("a", UNLABELLED)][0] == few[("a", EFFICIENCY)][0] == "not testable with this run"
    assert few[("a", EFFICIENCY)][1] == "needs 4 or more models with both"  # 1 / 4! = 0.042
    assert judged(scored(UNRELATED, UNRELATED).drop(columns=[EFFICIENCY_OF]))[("a", EFFICIENCY)][1] == (
        "needs the downstream_task metric (its sample efficiency) and the supervised ones in the grid"
    )


def test_the_two_sided_trend_p_is_scipy_s_exact_permutation_p():
    """two_sided_trend's p equals scipy's exact two-sided permutation test of Spearman's ρ."""
    from scipy.stats import permutation_test

    x, y = np.arange(7.0), np.array([2.0, 0.0, 1.0, 5.0, 3.0, 6.0, 4.0])
    rho, p, floor = two_sided_trend(x, y)
    exact = permutation_test(
        (y,), lambda v: spearmanr(x, v).statistic, permutation_type="pairings", alternative="two-sided"
    )
    assert rho == pytest.approx(spearmanr(x, y).statistic) and p == pytest.approx(exact.pvalue)
    assert floor == pytest.approx(2 / 5040)  # the best ordering: 1 of 7! pairings each way


def test_a_run_too_small_for_a_claim_says_it_is_not_testable_and_what_it_needs():
    small = locatello_run(tc_falls=True, datasets=("a",), seeds=1, methods=("beta_vae",))
    small = small[small["hp.beta"].isin([1.0, 16.0])]
    found = judged(small)
    assert found[("a", TC)][0] == "not testable with this run"
    assert "the smallest possible p is 0.5" in found[("a", TC)][1]  # two models: no p below 0.5
    assert found[("a", VARIANCE)] == (
        "not testable with this run",
        "needs two or more methods, each with two or more hyperparameter settings, and seeds",
    )
    assert found[("every dataset", CHOSEN_ON)] == ("not testable with this run", "needs two or more datasets and seeds")
    assert found[("every dataset", CHOSEN_BY)] == ("not testable with this run", "needs two or more metrics and seeds")


def weak_run(weak_better: bool, unsupervised: bool = True) -> pd.DataFrame:
    """4 Ada-GVAE and 4 β-VAE models of one dataset: every supervised score and the accuracy with
    100 labels higher for the weak ones (or lower)."""
    rows = []
    for method, base in (("group_vae_argmax", 1.0 if weak_better else 0.0), ("beta_vae", 0.0 if weak_better else 1.0)):
        if method == "beta_vae" and not unsupervised:
            continue
        for seed in range(4):
            value = base + 0.1 * seed
            row = {"dataset": "a", "method": method, "label": method, "seed": seed, "status": "trained"}
            rows.append({**row, **dict.fromkeys([*SUPERVISED, *FEW_LABELS], value)})
    return pd.DataFrame(rows)


def test_the_weak_study_s_claims_as_built():
    """Weak models built better on every output: both claims supported (exact p = 2/70 with 4 and
    4 models, P(weak better) = 1); built worse: not supported; without unsupervised models in
    the run: not testable, saying what it needs."""
    from benchbench.studies.locatello2020 import claims as weak_claims

    def verdicts(table):
        cache = {}
        once = lambda key, compute: cache[key] if key in cache else cache.setdefault(key, compute())  # noqa: E731
        report = SimpleNamespace(table=table, datasets=["a"], once=once)
        return [(c.verdict, c.evidence) for c in weak_claims(report)]

    better = verdicts(weak_run(True))
    assert [v for v, _ in better] == ["supported", "supported"]
    assert "P(weak better) = 1.00, p = 0.029 (4 vs 4)" in better[0][1]
    assert [v for v, _ in verdicts(weak_run(False))] == ["not supported", "not supported"]
    alone = verdicts(weak_run(True, unsupervised=False))
    assert alone[0][0] == "not testable with this run" and "needs weakly supervised and unsupervised" in alone[0][1]
