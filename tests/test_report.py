"""The report from a synthetic run folder with known metric values."""

import re

import numpy as np
import pandas as pd
import pytest

from benchbench.arch import build_net
from benchbench.cli import cli
from benchbench.evaluate import EvalSpec
from benchbench.report.tables import PAPER_ATTRIBUTES, PAPER_TABLE2
from benchbench.store import RunStore

ATTRS = sorted([*PAPER_ATTRIBUTES, "Rosy_Cheeks"])


def add(run, cell, higgins, mse, attributes=None, model=False):
    store = run.add_cell(cell)
    rng = np.random.default_rng(cell.seed)
    names = ATTRS if cell.dataset == "celeba" else ["shape", "scale", "orientation", "posX", "posY"]
    metrics = {
        "beta_vae_score": {"eval_accuracy": higgins, "train_accuracy": higgins},
        "reconstruction_error": {"mse": mse},
        "latent_correlation": {"mean_abs_offdiag": 0.1},
    }
    if attributes is not None:
        metrics["attribute_accuracy"] = {**attributes, "mean": float(np.mean(list(attributes.values())))}
    zf = rng.uniform(-1, 1, (cell.latent_dim, len(names)))
    artifacts = {
        "latent_correlation.latent_latent": np.corrcoef(rng.normal(size=(cell.latent_dim, 50))),
        "latent_correlation.latent_factor": zf,
        "latent_correlation.top_latent": np.argmax(np.abs(zf), axis=0),
        "latent_correlation.top_others": np.tile(np.arange(1, 5), (len(names), 1)),
        "latent_correlation.top_others_corr": rng.uniform(-1, 1, (len(names), 4)),
        "latent_correlation.factor_names": np.array(names),
    }
    for metric, values in metrics.items():
        arrays = {k.split(".", 1)[1]: v for k, v in artifacts.items() if k.startswith(f"{metric}.")}
        record = {**EvalSpec.of(metric).to_json(), "status": "done", "values": values}
        store.write_evaluation(record, arrays)
    store.write_log([{"step": s, "loss": 100.0 / s, "reconstruction": 90.0 / s, "kl": 10.0 / s} for s in (1, 2, 3)])
    if model:
        store.save_model(build_net(cell.arch, (1, 64, 64), cell.latent_dim).state_dict())
    store.set_status("trained")


@pytest.fixture
def run(tmp_path, cell):
    run = RunStore(tmp_path / "paperish")
    run.write_manifest({"grid": {"name": "paper"}, "git_commit": "abc", "devices": ["cpu"]})
    c = lambda dataset, method, hp=None, seed=0: cell(method, hp, seed=seed).__class__(  # noqa: E731
        **{**cell(method, hp, seed=seed).config(), "dataset": dataset}
    )
    for seed, (h, m) in enumerate([(80.0, 0.0020), (82.0, 0.0022)]):
        add(run, c("shapes2d", "vae", seed=seed), h, m, model=True)
        add(run, c("shapes2d", "beta_vae", {"beta": 4}, seed), h - 1, m * 2, model=True)
        add(run, c("shapes2d", "beta_vae", {"beta": 60}, seed), h + 10, m * 5)
        add(run, c("shapes2d", "dip_vae", {"lambda_od": 1}, seed), h + 5, m)
        add(run, c("shapes2d", "dip_vae", {"lambda_od": 10}, seed), h + 15 + seed, m, model=True)
    base = dict(zip(ATTRS, np.linspace(70, 95, len(ATTRS))))
    add(run, c("celeba", "vae"), 7.0, 0.09, base)
    for beta in (4, 8):
        add(run, c("celeba", "beta_vae", {"beta": beta}), 8.0, 0.1, {k: v - beta / 4 for k, v in base.items()})
    add(run, c("celeba", "dip_vae", {"lambda_od": 2}), 11.0, 0.091, {k: v + 1 for k, v in base.items()})
    add(run, c("celeba", "dip_vae", {"lambda_od": 5}), 10.0, 0.091, {k: v + 2 for k, v in base.items()})
    store = run.add_cell(c("celeba", "beta_vae", {"beta": 2}))
    store.set_status("failed", error="RuntimeError: boom")
    return run


def test_report_tables_have_the_exact_numbers(run, cli_runner):
    out = cli_runner.invoke(cli, ["report", str(run.path)])
    assert out.exit_code == 0, out.output
    folder = run.path / "report"
    cells = pd.read_csv(folder / "cells.csv")
    assert len(cells) == 16 and set(cells["status"]) == {"trained", "failed"}
    t1 = pd.read_csv(folder / "table1.csv")
    shapes = t1[t1["dataset"] == "shapes2d"].set_index("method")
    assert list(shapes.index) == ["VAE", "β-VAE (β = 4)", "β-VAE (β = 60)", "DIP-VAE"]
    assert shapes.loc["VAE", "metric.mean"] == pytest.approx(81.0)
    assert shapes.loc["VAE", "metric.std"] == pytest.approx(np.std([80.0, 82.0], ddof=1))
    assert shapes.loc["VAE", "recon.mean"] == pytest.approx(0.0021) and shapes.loc["VAE", "n"] == 2
    assert shapes.loc["DIP-VAE", "hp.lambda_od"] == 10  # the best mean Higgins score: (95 + 98) / 2
    assert shapes.loc["DIP-VAE", "metric.mean"] == pytest.approx(96.5)
    assert shapes.loc["β-VAE (β = 60)", "paper.metric"] == 95.7
    celeba = t1[t1["dataset"] == "celeba"].set_index("method")
    assert list(celeba.index) == ["VAE", "β-VAE (β = 4)", "β-VAE (β = 8)", "DIP-VAE"]
    assert celeba.loc["DIP-VAE", "hp.lambda_od"] == 2 and celeba.loc["DIP-VAE", "paper.metric"] == 11.31
    t2 = pd.read_csv(folder / "table2.csv").set_index("method")
    assert list(t2.index) == ["VAE", "β = 4", "β = 8", "DIP-VAE"]  # β = 2 failed
    assert t2.loc["β = 8", "Bangs"] == pytest.approx(70 + 25 * 2 / 12 - 2)
    assert t2.loc["DIP-VAE", "Rosy_Cheeks"] == pytest.approx(70 + 25 * 9 / 12 + 1)
    assert t2.loc["VAE", "paper.Wearing_Hat"] == PAPER_TABLE2["VAE"][10]


def test_report_latex_structure_and_bold(run, cli_runner):
    assert cli_runner.invoke(cli, ["report", str(run.path)]).exit_code == 0
    tex = (run.path / "report" / "table1.tex").read_text()
    assert tex.startswith("\\documentclass{standalone}") and tex.rstrip().endswith("\\end{document}")
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert tex.count(rule) == 1
    assert tex.count("\\begin{") == tex.count("\\end{")
    dip = next(line for line in tex.splitlines() if "DIP-VAE" in line and "96.5" in line)
    assert "\\bfseries 96.5 $\\pm$ 2.1" in dip  # the best Higgins score of 2D Shapes, in bold
    vae = next(line for line in tex.splitlines() if "& VAE" in line and "81.0" in line)
    assert "\\bfseries 0.0021 $\\pm$ 0.0001" in vae  # lowest error (tied with DIP-VAE), in bold
    beta4 = next(line for line in tex.splitlines() if "= 4)" in line and "80.0" in line)
    assert "0.0042" in beta4 and "\\bfseries 0.0042" not in beta4 and "\\bfseries 80.0" not in beta4
    rows = [line for line in tex.splitlines() if line.rstrip().endswith("\\\\")]
    assert len({line.count("&") for line in rows}) == 1  # every row has every column
    t2 = (run.path / "report" / "table2.tex").read_text()
    header = next(line for line in t2.splitlines() if "Arched Eyebrows" in line)
    assert header.count("&") == 2 + 12 - 1 and "Rosy" not in t2  # only the seed's 12 attributes
    assert "\\bfseries 96.2" in t2  # the seed's best Wearing_Hat (DIP-VAE)


def test_report_figures_and_html(run, cli_runner):
    assert cli_runner.invoke(cli, ["report", str(run.path), "--out", str(run.path / "r")]).exit_code == 0
    folder = run.path / "r"
    for name in (
        "figure1_shapes2d",
        "figure1_celeba",
        "correlations_shapes2d",
        "correlations_celeba",
        "figure2_celeba",
        "traversals_shapes2d",
        "curves_shapes2d",
    ):
        assert (folder / "figures" / f"{name}.png").stat().st_size > 5000, name
        assert (folder / "figures" / f"{name}.pdf").stat().st_size > 1000, name
    matrix = pd.read_csv(folder / "correlations" / "shapes2d_DIP_VAE_latent_latent.csv", index_col=0)
    assert matrix.shape == (4, 4) and np.allclose(np.diag(matrix), 1)
    page = (folder / "index.html").read_text()
    for src in re.findall(r"<img src='([^']+)'", page):
        assert (folder / src).exists()
    assert page.count("<img") >= 7 and "Table 1" in page and "Table 2" in page and "<table" in page
    assert "celeba: no finished β = 2 cells with attribute accuracy" in page
    assert "latent traversals skipped: dataset celeba: missing" in page


def test_partial_run_and_formats(tmp_path, cell, cli_runner):
    run = RunStore(tmp_path / "small")
    run.write_manifest({"grid": {"name": "quick"}})
    add(run, cell("vae"), 50.0, 0.005)
    out = cli_runner.invoke(cli, ["report", str(run.path), "--format", "csv"])
    assert out.exit_code == 0, out.output
    files = {p.name for p in (run.path / "report").iterdir()}
    assert {"cells.csv", "table1.csv"} <= files and not {"table1.tex", "index.html", "table2.csv"} & files
    assert cli_runner.invoke(cli, ["report", str(run.path), "--format", "html"]).exit_code == 0
    page = (run.path / "report" / "index.html").read_text()
    assert "celeba: not in this run" in page and "shapes2d: no finished DIP-VAE cells" in page
    bad = cli_runner.invoke(cli, ["report", str(run.path), "--format", "pdf"])
    assert bad.exit_code == 2 and "unknown format 'pdf'" in bad.output
    bad = cli_runner.invoke(cli, ["report", str(run.path), "--beta", "shapes2d=4"])
    assert bad.exit_code == 2 and "--beta takes DATASET=B1,B2" in bad.output
