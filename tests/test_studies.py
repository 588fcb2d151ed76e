"""Studies as plugins: a study registers its grids, a run remembers its study, and a report shows
the run's study (or the one asked for)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from run_helpers import assert_one_line_error, write_grid

from benchbench.api import Study, studies
from benchbench.cli import cli
from benchbench.core.registry import BenchbenchError
from benchbench.planning.grids import get_grid
from benchbench.plugin.study import grid_catalogue, study_of
from benchbench.report.settings import run_study
from benchbench.storage.store import RunStore

TINY = {
    "name": "tiny_study_grid",
    "description": "two VAEs, a few steps",
    "seeds": 1,
    "train": {"arch": "conv", "latent_dim": 3, "steps": 4, "batch_size": 8},
    "metrics": {"reconstruction_error": {"num_images": 16}},
    "sweep": [{"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": [1, 4]}}],
}


@pytest.fixture
def tiny_study():
    @studies.register("tiny_study")
    class TinyStudy(Study):
        title = "Tiny et al.: a study of two models"
        description = "two β values"
        grids = {"tiny_study_grid": lambda: dict(TINY)}
        protocol = {"steps": 4}

    yield studies.get("tiny_study")
    studies.unregister("tiny_study")


def test_the_built_in_studies_own_the_built_in_grids():
    catalogue = grid_catalogue()
    assert {g: s for g, (s, _) in catalogue.items()} == {
        "paper": "kumar2018",
        "quick": "kumar2018",
        "smoke": "kumar2018",
        "locatello2019": "locatello2019",
        "locatello2020": "locatello2020",
    }
    assert get_grid("quick").study == "kumar2018" and study_of("locatello2019") == "locatello2019"
    assert study_of("no_such_grid") is None and study_of(None) is None


def test_list_shows_studies_and_each_grids_study(cli_runner):
    out = cli_runner.invoke(cli, ["list", "studies"])
    assert out.exit_code == 0
    assert "kumar2018" in out.output and "grids: paper, quick, smoke" in out.output
    grids = cli_runner.invoke(cli, ["list", "grids"]).output
    assert "locatello2019" in grids and "(study locatello2019)" in grids and "(study kumar2018)" in grids


def test_a_study_is_a_study_subclass_and_a_grid_belongs_to_one_study(tiny_study):
    with pytest.raises(BenchbenchError, match="subclass of benchbench.api.Study"):
        studies.register("not_a_study")(dict)
    with pytest.raises(BenchbenchError, match="grid 'quick' is study kumar2018's already"):

        @studies.register("thief")
        class Thief(Study):
            grids = {"quick": lambda: dict(TINY)}

    assert "thief" not in studies and tiny_study.grids["tiny_study_grid"]()["name"] == "tiny_study_grid"


def test_a_run_remembers_its_study_and_its_report_shows_it(tiny_study, tmp_path, cli_runner):
    out = cli_runner.invoke(cli, ["run", "--grid", "tiny_study_grid", "--results", str(tmp_path), "--no-progress"])
    assert out.exit_code == 0, out.output
    run = RunStore(tmp_path / "tiny_study_grid")
    assert run.manifest().study == "tiny_study" and run_study(run) is tiny_study
    report = cli_runner.invoke(cli, ["report", str(run.path), "--format", "html"])
    assert report.exit_code == 0, report.output
    page = (run.path / "report" / "index.html").read_text()
    assert "tiny_study: Tiny et al.: a study of two models" in page
    other = cli_runner.invoke(cli, ["report", str(run.path), "--format", "html", "--study", "kumar2018"])
    assert other.exit_code == 0, other.output
    assert "kumar2018: Kumar, Sattigeri, Balakrishnan" in (run.path / "report" / "index.html").read_text()
    assert_one_line_error(cli_runner.invoke(cli, ["report", str(run.path), "--study", "nope"]), "unknown study 'nope'")


def test_a_run_made_before_studies_were_recorded_finds_its_study_by_its_grid(tmp_path):
    run = RunStore(tmp_path / "old")
    run.path.mkdir()
    (run.path / "manifest.json").write_text(json.dumps({"layout": 3, "grid": {"name": "quick", "spec": {}}}))
    assert run_study(run).name == "kumar2018"
    (run.path / "manifest.json").write_text(json.dumps({"layout": 3, "grid": {"name": "mine", "spec": {}}}))
    assert run_study(run) is None and run_study(run, "locatello2019").name == "locatello2019"


def test_a_grid_file_names_its_study_and_an_unknown_one_is_refused(tmp_path, cli_runner):
    path = write_grid(tmp_path / "mine.toml", {**TINY, "name": "mine", "study": "kumar2018"})
    assert get_grid(str(path)).study == "kumar2018"
    bad = write_grid(tmp_path / "bad.toml", {**TINY, "name": "bad", "study": "kumar"})
    out = cli_runner.invoke(cli, ["run", "--grid", str(bad), "--results", str(tmp_path)])
    assert_one_line_error(out, "study: unknown study 'kumar'; did you mean kumar2018?")
    assert not (tmp_path / "bad").exists()


def test_a_study_of_ones_own_in_one_file_shows_its_table_and_claim_and_nothing_of_the_papers(tmp_path, cli_runner):
    example = Path(__file__).resolve().parents[1] / "examples" / "my_study.py"
    assert len(example.read_text().splitlines()) <= 80
    plugin = ["--plugin", str(example)]
    try:
        args = [
            "run",
            "--grid",
            "beta_mig",
            "--steps",
            "4",
            "--seeds",
            "1",
            "--results",
            str(tmp_path),
            "--no-progress",
        ]
        out = cli_runner.invoke(cli, [*args, *plugin])
        assert out.exit_code == 0, out.output
        run = RunStore(tmp_path / "beta_mig")
        assert run.manifest().study == "beta_mig"
        report = cli_runner.invoke(cli, ["report", str(run.path), "--format", "csv,html", *plugin])
        assert report.exit_code == 0, report.output
        folder = run.path / "report"
        table = pd.read_csv(folder / "mig_by_beta.csv")
        assert list(table["hp.beta"]) == [1.0, 4.0, 16.0] and table["mig.mig.mean"].notna().all()
        claims = pd.read_csv(folder / "claims.csv")
        assert list(claims["claim"]) == ["MIG rises with β"] and claims["verdict"][0] in (
            "supported",
            "not supported",
            "not testable with this run",
        )
        assert "Spearman ρ = " in claims["evidence"][0] and "over 3 models" in claims["evidence"][0]
        page = (folder / "index.html").read_text()
        assert "MIG against β" in page and "beta_mig: Our own question" in page
        for paper in ("Table 1", "Figure 1", "Table 3", "DIP-VAE", "kumar2018", "Locatello"):
            assert paper not in page, paper
    finally:
        studies.unregister("beta_mig")


@pytest.mark.slow
def test_a_locatello_report_draws_each_analysis_and_its_numbers_are_the_runs(tmp_path, cli_runner):
    """``report --study locatello2019`` of a run of two methods × 4 settings × 2 seeds: each analysis
    is a table and a figure (total correlation against regularization, the metrics' agreement, the
    unsupervised scores against the supervised metrics, each metric per method, the variance split,
    the model-selection transfer), and the agreement it writes is Spearman's ρ recomputed here from
    cells.csv."""
    from conftest import make_cell
    from test_report import add

    from benchbench.core.records import Manifest

    run = RunStore(tmp_path / "loc")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "git_commit": "abc", "devices": ["cpu"]}))
    rng = np.random.default_rng(0)
    for method, hp in (("beta_vae", "beta"), ("factor_vae", "gamma")):
        for value in (1.0, 2.0, 4.0, 8.0):
            for seed in (0, 1):
                cell = make_cell(method, {hp: value}, seed=seed)
                extra = {
                    "mig": {"mig": float(rng.uniform())},
                    "unsupervised": {"gaussian_total_correlation": float(1 / value + rng.uniform(0, 0.1))},
                }
                add(run, cell, float(rng.uniform(50, 90)), 0.01, **extra)
    out = cli_runner.invoke(cli, ["report", str(run.path), "--study", "locatello2019"])
    assert out.exit_code == 0, out.output
    folder = run.path / "report"
    for name in ("tc_regularization", "metric_agreement", "unsupervised_supervised", "distributions",
                 "variance_split"):  # fmt: skip
        assert (folder / "figures" / f"{name}_shapes2d.png").stat().st_size > 10_000, name
    assert (folder / "figures" / "selection_transfer.png").exists()
    assert (folder / "tc_regularization_shapes2d.csv").exists() and (folder / "selection_transfer.tex").exists()
    cells = pd.read_csv(folder / "cells.csv")
    agreement = pd.read_csv(folder / "metric_agreement_shapes2d.csv").set_index("metric")
    pair = ["beta_vae_score.eval_accuracy", "mig.mig"]
    rho = cells[pair].rank().corr().iloc[0, 1]  # Pearson's r of the ranks: Spearman's ρ
    assert agreement.loc[pair[0], pair[1]] == pytest.approx(rho)
    page = (folder / "index.html").read_text()
    assert "Which method? — 2D Shapes" in page and "figures/distributions_shapes2d.png" in page


@pytest.mark.slow
def test_a_tiny_run_of_the_weak_study_reports_its_comparison_and_claims(tmp_path, cli_runner):
    """A grid file of the weak study (Ada-GVAE beside a β-VAE, two seeds, a few steps, MIG only):
    trained on pairs, its report compares the two sides (the numbers those of cells.csv) and
    judges both claims — the downstream one not testable without the downstream task."""
    grid = write_grid(
        tmp_path / "weak.toml",
        {
            "name": "tiny_weak",
            "study": "locatello2020",
            "seeds": 2,
            "train": {"latent_dim": 3, "steps": 6, "batch_size": 8},
            "metrics": {"mig": {"num_train": 200}},
            "sweep": [
                {"datasets": ["shapes2d"], "method": "group_vae_argmax", "hyperparameters": {"k": "random"}},
                {"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": 1}},
            ],
        },
    )
    out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--results", str(tmp_path), "--no-progress"])
    assert out.exit_code == 0, out.output
    out = cli_runner.invoke(cli, ["report", str(tmp_path / "tiny_weak")])
    assert out.exit_code == 0, out.output
    folder = tmp_path / "tiny_weak" / "report"
    cells = pd.read_csv(folder / "cells.csv")
    compared = pd.read_csv(folder / "weak_disentanglement_shapes2d.csv").set_index("output")
    weak = cells[cells["method"] == "group_vae_argmax"]["mig.mig"]
    assert (
        compared.loc["mig.mig", "weak_mean"] == pytest.approx(weak.mean())
        and compared.loc["mig.mig", "weak_models"] == 2
    )
    verdicts = pd.read_csv(folder / "claims.csv")["verdict"].tolist()
    assert verdicts == ["not testable with this run"] * 2  # 2 vs 2 models: no p below 1/3
