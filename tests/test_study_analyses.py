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

from benchbench.report.analysis import paired_rank_correlation, selection_transfer, variance_split
from benchbench.studies.locatello2019 import SUPERVISED, claims

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
    report = SimpleNamespace(table=table, datasets=sorted(set(table["dataset"])))
    return {(c.dataset, c.source): (c.verdict, c.evidence) for c in claims(report)}


def test_the_study_s_claims_are_supported_or_not_as_the_run_was_built():
    supported = judged(locatello_run(tc_falls=True))
    assert {k: v[0] for k, v in supported.items()} == {
        ("a", "§4.1"): "supported", ("a", "§4.3"): "supported", ("b", "§4.1"): "supported",
        ("b", "§4.3"): "supported", ("every dataset", "§4.4"): "supported",
    }  # fmt: skip
    built = locatello_run(tc_falls=True).query("dataset == 'a' and method == 'beta_vae'")
    rho = spearmanr(built["hp.beta"], built["unsupervised@sampled.gaussian_total_correlation"]).statistic
    assert f"beta_vae: ρ = {rho:.2f} over 30 models, p = 5e-05" in supported[("a", "§4.1")][1]  # 1 of 20,000
    assert "0% between methods" in supported[("a", "§4.3")][1]  # the methods are built alike
    rising = judged(locatello_run(tc_falls=False))
    assert rising[("a", "§4.1")][0] == "not supported" and f"ρ = {-rho:.2f}" in rising[("a", "§4.1")][1]
    alike = locatello_run(tc_falls=True)
    alike.loc[alike["dataset"] == "b", list(SUPERVISED)] = alike.loc[alike["dataset"] == "a", list(SUPERVISED)].values
    assert judged(alike)[("every dataset", "§4.4")][0] == "not supported"  # the ranking transfers


def test_a_run_too_small_for_a_claim_says_it_is_not_testable_and_what_it_needs():
    small = locatello_run(tc_falls=True, datasets=("a",), seeds=1, methods=("beta_vae",))
    small = small[small["hp.beta"].isin([1.0, 16.0])]
    found = judged(small)
    assert found[("a", "§4.1")][0] == "not testable with this run"
    assert "the smallest possible p is 0.5" in found[("a", "§4.1")][1]  # two models: no p below 0.5
    assert found[("a", "§4.3")] == (
        "not testable with this run",
        "needs two or more methods, each with two or more hyperparameter settings, and seeds",
    )
    assert found[("every dataset", "§4.4")] == ("not testable with this run", "needs two or more datasets and seeds")
