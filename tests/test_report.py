"""The report from a synthetic run folder with known metric values."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_cell
from PIL import Image
from run_helpers import assert_one_line_error

from benchbench.cli import cli
from benchbench.core.arch import build_net
from benchbench.core.records import EvaluationRecord, Manifest
from benchbench.plugin.metric import EvalSpec, declaration
from benchbench.report.latex import tex_text
from benchbench.report.numbers import BOLD_RULE, Column, formatted
from benchbench.report.results import column_units
from benchbench.storage.store import RunStore
from benchbench.studies.kumar2018 import PAPER_ATTRIBUTES, PAPER_TABLE2

ATTRS = sorted([*PAPER_ATTRIBUTES, "Rosy_Cheeks"])


def on(dataset, cell):
    """``cell`` moved to another dataset."""
    return cell.__class__(**{**cell.config(), "dataset": dataset})


def add(run, cell, higgins, mse, attributes=None, model=False, **extra):
    store = run.add_cell(cell)
    rng = np.random.default_rng(cell.seed)
    names = ATTRS if cell.dataset == "celeba" else ["shape", "scale", "orientation", "posX", "posY"]
    metrics = {
        "beta_vae_score": {"eval_accuracy": higgins, "train_accuracy": higgins},
        "reconstruction_error": {"mse": mse},
        "latent_correlation": {"mean_abs_offdiag": 0.1},
        **extra,
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
        store.write_evaluation(EvaluationRecord.from_json(record), arrays)
    store.write_log([{"step": s, "loss": 100.0 / s, "reconstruction": 90.0 / s, "kl": 10.0 / s} for s in (1, 2, 3)])
    if model:
        store.save_model(build_net(cell.arch, (1, 64, 64), cell.latent_dim).state_dict())
    store.mark_trained()


def paper_run(root) -> RunStore:
    """A run like the paper grid's, with known values: 2D Shapes (two seeds) and CelebA."""
    run = RunStore(root / "paperish")
    run.write_manifest(Manifest.from_json({"grid": {"name": "paper"}, "git_commit": "abc", "devices": ["cpu"]}))
    c = lambda dataset, method, hp=None, seed=0: on(dataset, make_cell(method, hp, seed=seed))  # noqa: E731
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
    store.mark_failed(RuntimeError("boom"))
    return run


@pytest.fixture
def run(tmp_path):
    return paper_run(tmp_path)


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """The paper-like run and its full report, made once for the tests that only read them."""
    run = paper_run(tmp_path_factory.mktemp("shown"))
    folder, _ = report(CliRunner(), run)
    return run, folder


def report(cli_runner, run, *args):
    out = cli_runner.invoke(cli, ["report", str(run.path), *args])
    assert out.exit_code == 0, out.output
    return run.path / "report", out.output


def test_report_tables_have_the_exact_numbers(shown):
    _, folder = shown
    cells = pd.read_csv(folder / "cells.csv")
    assert len(cells) == 16 and set(cells["status"]) == {"trained", "failed"}
    t1 = pd.read_csv(folder / "table1.csv")
    shapes = t1[t1["dataset"] == "shapes2d"].set_index("method")
    assert list(shapes.index) == ["VAE", "β-VAE (β = 4)", "β-VAE (β = 60)", "DIP-VAE-I (λ_od = 10)"]
    assert shapes.loc["VAE", "metric.mean"] == pytest.approx(81.0)
    assert shapes.loc["VAE", "metric.std"] == pytest.approx(np.std([80.0, 82.0], ddof=1))
    assert shapes.loc["VAE", "recon.mean"] == pytest.approx(0.0021) and shapes.loc["VAE", "n"] == 2
    assert shapes.loc["DIP-VAE-I (λ_od = 10)", "hp.lambda_od"] == 10  # the best mean Higgins score: (95 + 98) / 2
    assert shapes.loc["DIP-VAE-I (λ_od = 10)", "metric.mean"] == pytest.approx(96.5)
    assert shapes.loc["β-VAE (β = 60)", "paper.metric"] == 95.7
    assert shapes.loc["DIP-VAE-I (λ_od = 10)", "paper.metric"] == 98.7  # variant i, running, λ_d = 10 λ_od, by Higgins
    celeba = t1[t1["dataset"] == "celeba"].set_index("method")
    assert list(celeba.index) == ["VAE", "β-VAE (β = 4)", "β-VAE (β = 8)", "DIP-VAE-I (λ_od = 2)"]
    assert celeba.loc["DIP-VAE-I (λ_od = 2)", "paper.metric"] == 11.31
    t2 = pd.read_csv(folder / "table2_celeba.csv").set_index("method")
    assert list(t2.index) == ["VAE", "β = 4", "β = 8", "DIP-VAE-I (λ_od = 2)"]  # β = 2 failed
    assert t2.loc["β = 8", "Bangs"] == pytest.approx(70 + 25 * 2 / 12 - 2)
    assert t2.loc["DIP-VAE-I (λ_od = 2)", "Rosy_Cheeks"] == pytest.approx(70 + 25 * 9 / 12 + 1)
    assert t2.loc["VAE", "paper.Wearing_Hat"] == PAPER_TABLE2["VAE"][10]
    assert t2.loc["β = 4", "paper.Bangs"] == PAPER_TABLE2[4.0][2] and t2.loc["VAE", "n"] == 1


def paper_values(t1, dataset):
    rows = t1[t1["dataset"] == dataset].set_index("method")
    return {m: (None if pd.isna(v) else v) for m, v in rows["paper.metric"].items()}


@pytest.mark.slow
def test_paper_values_sit_only_beside_their_configuration(tmp_path, cell, cli_runner):
    """β = 2, 8 and DIP-VAE-II are not the paper's rows: their paper columns stay empty."""
    run = RunStore(tmp_path / "r")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "study": "kumar2018"}))
    add(run, cell("vae"), 80.0, 0.002)
    for beta in (2, 8):
        add(run, cell("beta_vae", {"beta": beta}), 70.0 + beta, 0.003)
    add(run, cell("dip_vae", {"variant": "ii", "lambda_od": 2}), 90.0, 0.002)
    folder, output = report(cli_runner, run, "--beta", "shapes2d=2,8")
    values = paper_values(pd.read_csv(folder / "table1.csv"), "shapes2d")
    assert values == {"VAE": 81.3, "β-VAE (β = 2)": None, "β-VAE (β = 8)": None, "DIP-VAE-II (λ_od = 2)": None}
    page = (folder / "index.html").read_text()
    assert "the paper has no β = 2 row (it reports β = 4, 60)" in page
    assert "DIP-VAE is not the paper&#x27;s DIP-VAE" in page
    # The paper's DIP-VAE row is picked by the Higgins score; selected by another output it is not.
    add(run, cell("dip_vae", {"lambda_od": 5}), 95.0, 0.004)
    folder, _ = report(cli_runner, run, "--beta", "shapes2d=2,8", "--select-by", "reconstruction_error.mse")
    values = paper_values(pd.read_csv(folder / "table1.csv"), "shapes2d")
    assert values["DIP-VAE-I (λ_od = 5)"] is None and values["DIP-VAE-II (λ_od = 2)"] is None


def test_select_by_follows_each_outputs_direction(tmp_path, cell, cli_runner):
    run = RunStore(tmp_path / "r")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "study": "kumar2018"}))
    for lam, (higgins, mse, mig) in {1: (90.0, 0.004, 0.3), 5: (80.0, 0.001, 0.1), 20: (85.0, 0.009, 0.5)}.items():
        add(run, cell("dip_vae", {"lambda_od": lam}), higgins, mse, mig={"mig": mig})

    def dip(*args):
        folder, output = report(cli_runner, run, "--format", "csv", *args)
        t1 = pd.read_csv(folder / "table1.csv").set_index("method")
        (lam,) = t1.loc[t1.index.str.startswith("DIP-VAE-I (λ_od = "), "hp.lambda_od"]
        return lam, output

    assert dip()[0] == 1  # highest Higgins score
    lam, output = dip("--select-by", "reconstruction_error.mse")
    assert (
        lam == 5 and "lowest mean reconstruction error (squared, per pixel) over seeds" in output
    )  # lower error is better
    assert dip("--select-by", "mig.mig")[0] == 20


@pytest.mark.parametrize(
    "args, parts",
    [
        (["--select-by", "mig"], ["--select-by 'mig'", "beta_vae_score.eval_accuracy"]),
        (["--select-by", "nonsense.x"], ["--select-by 'nonsense.x'", "not a METRIC.OUTPUT"]),
        (["--select-by", "sap.sap"], ["--select-by 'sap.sap'", "no values of it in this run"]),
        (["--beta", "shapes=2,8"], ["dataset 'shapes' is not in this run", "shapes2d"]),
        (["--beta", "shapes2d=4,7"], ["shapes2d has no β-VAE with β = 7", "4, 60"]),
    ],
)
def test_report_refuses_what_the_run_cannot_answer(run, cli_runner, args, parts):
    out = cli_runner.invoke(cli, ["report", str(run.path), *args])
    assert_one_line_error(out, *parts)
    assert not (run.path / "report").exists()  # nothing written


def test_a_run_without_the_default_selection_metric_still_reports(tmp_path, cell, cli_runner):
    run = RunStore(tmp_path / "r")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "study": "kumar2018"}))
    store = run.add_cell(cell("dip_vae"))
    record = {**EvalSpec.of("mig").to_json(), "status": "done", "values": {"mig": 0.25}}
    store.write_evaluation(EvaluationRecord.from_json(record), {})
    store.mark_trained()
    folder, _ = report(cli_runner, run, "--format", "csv,html")
    assert (
        "shapes2d: no finished DIP-VAE cells with beta_vae_score.eval_accuracy" in (folder / "index.html").read_text()
    )
    assert pd.read_csv(folder / "aggregate.csv")["mig.mig.mean"].tolist() == [0.25]
    assert cli_runner.invoke(cli, ["report", str(run.path), "--select-by", "mig.mig"]).exit_code == 0


def test_variants_are_separate_rows_series_and_labels(tmp_path, cell, cli_runner):
    """DIP-VAE-I and -II (and running vs batch covariance) never merge; a β = 1 β-VAE is the VAE."""
    from benchbench.report.figures import tradeoff_series
    from benchbench.report.results import aggregate, tidy

    run = RunStore(tmp_path / "r")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "study": "kumar2018"}))
    add(run, cell("beta_vae", {"beta": 1}), 80.0, 0.002)
    add(run, cell("beta_vae", {"beta": 4}), 82.0, 0.003)
    scores = {("i", 2): 90.0, ("i", 10): 91.0, ("ii", 2): 93.0, ("ii", 10): 92.0}
    for (variant, lam), score in scores.items():
        add(run, cell("dip_vae", {"variant": variant, "lambda_od": lam}), score, 0.002)
    add(run, cell("dip_vae", {"variant": "ii", "lambda_od": 2, "cov_estimate": "batch"}), 94.0, 0.002)
    folder, _ = report(cli_runner, run, "--beta", "shapes2d=4,4", "--format", "csv")
    t1 = pd.read_csv(folder / "table1.csv").set_index("method")
    rows = ["DIP-VAE-II (cov_estimate = batch, λ_od = 2)", "DIP-VAE-I (cov_estimate = running, λ_od = 10)",
            "DIP-VAE-II (cov_estimate = running, λ_od = 2)"]  # fmt: skip
    assert list(t1.index) == ["VAE", "β-VAE (β = 4)", "β-VAE (β = 4)", *rows]
    assert t1.loc["VAE", "paper.metric"] == 81.3 and t1.loc["VAE", "metric.mean"] == 80.0
    assert t1.loc[rows[1], "hp.lambda_od"] == 10 and t1.loc[rows[2], "hp.lambda_od"] == 2
    table = tidy(run)
    configs = table.groupby("label")["cell"].nunique()
    assert len(configs) == len(table) and (configs == 1).all()  # every cell its own label
    series = {name: (hp, sorted(rows[hp])) for name, hp, rows in tradeoff_series(aggregate(table))}
    assert series == {  # named as papers name them, one series per variant
        "β-VAE": ("hp.beta", [1.0, 4.0]),
        "DIP-VAE-II (cov_estimate = batch)": ("hp.lambda_od", [2.0]),
        "DIP-VAE-I (cov_estimate = running)": ("hp.lambda_od", [2.0, 10.0]),
        "DIP-VAE-II (cov_estimate = running)": ("hp.lambda_od", [2.0, 10.0]),
    }


def test_celeba_official_feeds_table2(tmp_path, cell, cli_runner):
    run = RunStore(tmp_path / "r")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "study": "kumar2018"}))
    base = dict(zip(ATTRS, np.linspace(70, 95, len(ATTRS))))
    for seed in (0, 1):
        add(run, on("celeba_official", cell("vae", seed=seed)), 7.0, 0.09, {k: v + seed for k, v in base.items()})
    folder, _ = report(cli_runner, run, "--format", "csv")
    t2 = pd.read_csv(folder / "table2_celeba_official.csv").set_index("method")
    assert t2.loc["VAE", "Bangs"] == pytest.approx(base["Bangs"] + 0.5)
    assert t2.loc["VAE", "Bangs.std"] == pytest.approx(np.std([0, 1], ddof=1)) and t2.loc["VAE", "n"] == 2
    t1 = pd.read_csv(folder / "table1.csv")
    assert list(t1["dataset"]) == ["celeba_official"] and t1["paper.metric"].tolist() == [7.5]


def test_report_latex_structure_and_bold(shown):
    run, folder = shown
    tex = (folder / "table1.tex").read_text()
    assert tex.startswith("% needs \\usepackage{booktabs,graphicx}\n\\begin{table}")
    assert tex.rstrip().endswith("\\end{table}")
    assert "\\caption{" in tex and "standalone" not in tex
    assert f"\\label{{tab:{run.path.name}-table1}}" in tex  # unique per run
    for rule in ("\\toprule", "\\bottomrule"):
        assert tex.count(rule) == 1
    assert tex.count("\\begin{") == tex.count("\\end{")
    spec = next(line for line in tex.splitlines() if line.startswith("\\begin{tabular}"))
    assert (
        spec == "\\begin{tabular}{llrr@{\\,}lr@{\\,}lrr}"
    )  # labels left; mean and ± std each aligned; paper values right
    lines = tex.splitlines()
    body = lines[lines.index("\\toprule") + 3 : lines.index("\\bottomrule")]
    rows = [line for line in body if line != "\\midrule"]
    assert len(rows) == 8 and all(r.count("&") == 8 for r in rows)  # 9 columns, no spurious row
    assert body.count("\\midrule") == 1  # between shapes2d and celeba
    dip = next(r for r in rows if r.startswith("2D Shapes & DIP-VAE-I"))
    assert "& 2 & \\textbf{96.5} & $\\pm$ 2.1 &" in dip  # n, then the best Higgins score, in bold
    vae = next(r for r in rows if r.startswith("2D Shapes & VAE"))
    assert "& 0.0021 & $\\pm$ 0.0001" in vae and "textbf{0.0021}" not in tex  # lowest, tied: no bold
    assert tex_text(BOLD_RULE) in tex
    # Every number of a column has the same decimals, so right alignment is decimal alignment.
    cells = [[c.strip() for c in r.rstrip(" \\").split("&")] for r in rows]
    for col in range(3, 9):
        decimals = {
            len(re.sub(r"[^0-9.]", "", c).partition(".")[2]) for c in (row[col] for row in cells) if re.search(r"\d", c)
        }
        assert len(decimals) <= 1, (col, decimals)
    assert "0.0000" not in tex
    t2 = (folder / "table2_celeba.tex").read_text()
    tabulars = [line for line in t2.splitlines() if line.startswith("\\begin{tabular}")]
    assert len(tabulars) == 3 and t2.count("\\begin{table}") == 1  # 12 attributes, four at a time
    header = next(line for line in t2.splitlines() if "Arched" in line)
    assert header.count("\\multicolumn{2}{c}") == 4 and "Arched\\\\Eyebrows" in header  # long names on two lines
    assert "Rosy" not in t2 and "\\setlength{\\tabcolsep}{3pt}" in t2
    assert "\\textbf{96.2}" in t2  # the paper's best Wearing_Hat (DIP-VAE), in its own group


@pytest.mark.slow
def test_report_is_deterministic_and_holds_only_what_it_wrote(shown, cli_runner, tmp_path):
    def snapshot(folder):
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    run, folder = shown
    first = snapshot(folder)
    assert any(k.endswith(".pdf") for k in first) and any(k.endswith(".png") for k in first)
    again = tmp_path / "again"
    report(cli_runner, run, "--out", str(again))
    second = snapshot(again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    report(cli_runner, run, "--format", "latex", "--standalone", "--out", str(again))
    files = {p.name for p in again.rglob("*") if p.is_file()}
    assert "table1.tex" in files and not {"table1.csv", "cells.csv", "index.html"} & files  # no stale files
    assert not [f for f in files if f.endswith((".png", ".pdf"))]  # LaTeX alone draws nothing
    doc = (again / "table2_celeba.tex").read_text()
    assert doc.startswith("\\documentclass[varwidth=\\maxdimen]{standalone}")  # as wide as its table
    assert len([line for line in doc.splitlines() if line.startswith("\\begin{tabular}")]) == 3
    assert "\\caption" not in doc and doc.rstrip().endswith("\\end{document}")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    out = cli_runner.invoke(cli, ["report", str(run.path), "--out", str(tmp_path / "mine")])
    assert_one_line_error(out, "not a benchbench report folder")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


def test_report_figures_and_html(shown):
    _, folder = shown
    for name in (
        "figure1_shapes2d",
        "figure1_celeba",
        "correlations_latent_shapes2d",
        "correlations_factor_celeba",
        "figure2_celeba",
        "traversals_shapes2d",
        "curves_shapes2d",
        "overview_shapes2d",
    ):
        with Image.open(folder / "figures" / f"{name}.png") as png:  # a real picture, not a blank page
            pixels = np.asarray(png.convert("L"), dtype=float)
        assert min(pixels.shape) >= 200 and pixels.std() > 5 and (pixels < 128).mean() > 0.001, name
        assert (folder / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF-"), name
    name = "shapes2d_DIP_VAE_I_lambda_od_10_seed_0_latent_latent.csv"
    matrix = pd.read_csv(folder / "correlations" / name, index_col=0)
    assert matrix.shape == (4, 4) and np.allclose(np.diag(matrix), 1)
    page = (folder / "index.html").read_text()
    links = re.findall(r"<img src='([^']+)'", page) + re.findall(r"<a href='([^'#]+)'", page)
    assert all((folder / link).exists() for link in links)
    written = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != ".benchbench-report"}
    assert written <= set(links)  # every file the report wrote is linked
    titles = re.findall(r"<h2 id='[^']*'>([^<]+)</h2>", page)
    paper_order = ["Table 1", "Figure 1 — 2D Shapes", "Figure 1 — CelebA", "Table 2 — CelebA", "Figure 2 — CelebA"]
    assert titles[:5] == paper_order and titles.index("Table 3 — 2D Shapes") < titles.index("Table 4 — CelebA")
    assert "Every metric" in titles and "Cells not trained" in titles
    assert "RuntimeError: boom" in page  # the failed cell, with its reason
    assert "celeba: no finished β = 2 cells" in page
    assert "latent traversals skipped: dataset celeba: missing" in page
    assert "DIP-VAE-I (λ_od = 10), seed 0 = cell" in page  # which seed the single-model figures show
    assert "8 steps" in page and "batch 8" in page and "Not the paper&#x27;s protocol: steps 8" in page
    assert "a stand-in for the official dSprites file (dsprites): rendered here" in page  # shapes2d, named
    assert "Data, celeba" not in page and "Data, shapes2d" in page
    assert "<h3>2D Shapes</h3>" in page and "<th>VAE (n = 2)</th>" in page  # the every-metric table
    assert "<tbody><tr><td class='label'>Higgins et al. score (%) ↑</td>" in page  # metrics as rows, paper's first


def test_every_metric_table_has_metrics_as_rows_in_words_and_one_unit():
    """Accuracies read in % whether stored as a fraction (FactorVAE) or in % (Higgins); rows in
    the paper's order; at most OVERVIEW_COLUMNS configurations a table; bold the row's best."""
    from benchbench.report.sections import OVERVIEW_COLUMNS, overview_html
    from benchbench.report.tables import reading_order
    from benchbench.studies.kumar2018 import Kumar2018

    n = OVERVIEW_COLUMNS + 1
    agg = pd.DataFrame({"dataset": ["shapes2d"] * n, "label": [f"c{k}" for k in range(n)]})
    values = {
        "factor_vae_score.eval_accuracy": [0.5] * (n - 1) + [0.7],
        "mig.mig": [0.25] * n,
        "beta_vae_score.eval_accuracy": [60.0] * (n - 1) + [40.0],
    }
    for output, means in values.items():
        agg[f"{output}.mean"], agg[f"{output}.n"], agg[f"{output}.std"] = means, 2, 0.01
        for stat in ("ci_low", "ci_high"):
            agg[f"{output}.{stat}"] = np.nan
    directions = {"factor_vae_score": {"eval_accuracy": "higher"}, "beta_vae_score": {"eval_accuracy": "higher"}}
    page = overview_html(agg, reading_order(list(values), Kumar2018.metric_order), directions)
    assert page.count("<table>") == 2
    heads = re.findall(r"<tr><td class='label'>([^<]*)</td>", page.split("<table>")[2])
    assert heads == ["Higgins et al. score (%) ↑", "FactorVAE score (%) ↑", "mutual information gap (MIG)"]
    assert "<th>c6 (n = 2)</th>" in page.split("<table>")[2]
    last = page.split("<table>")[2]
    assert "<td><b>70 ± 1</b></td>" in last and "<td>40 ± " in last  # a fraction shown in %, the best bold
    assert "<b>60.0</b>" not in page  # six equal values: none stands apart


def test_label_placement_avoids_overlap():
    import matplotlib.pyplot as plt
    import matplotlib.text

    from benchbench.report.figures import place_labels

    fig, ax = plt.subplots(figsize=(4, 3))
    points = [(0.0113, 95.7), (0.0114, 95.6), (0.0112, 95.8), (0.005, 60.0)]
    ax.plot(*zip(*points), "o")
    labels = place_labels(ax, points, ["60", "64", "paper β = 60", "4"])
    renderer = fig.canvas.get_renderer()
    boxes = [matplotlib.text.Text.get_window_extent(label, renderer) for label in labels]  # the text alone
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    marks = [ax.transData.transform(p) for p in points]
    assert not any(box.contains(x, y) for box in boxes for x, y in marks)  # no label hides a marker
    assert all(ax.bbox.contains(b.x0, b.y0) and ax.bbox.contains(b.x1, b.y1) for b in boxes)
    plt.close(fig)


@pytest.mark.slow
def test_partial_run_and_formats(tmp_path, cell, cli_runner):
    run = RunStore(tmp_path / "small")
    run.write_manifest(Manifest.from_json({"grid": {"name": "quick"}}))
    add(run, cell("vae"), 50.0, 0.005)
    out = cli_runner.invoke(cli, ["report", str(run.path), "--format", "csv"])
    assert out.exit_code == 0, out.output
    files = {p.name for p in (run.path / "report").iterdir()}
    assert {"cells.csv", "table1.csv"} <= files
    assert not {"table1.tex", "index.html", "table2_celeba.csv", "figures"} & files  # nothing drawn
    assert cli_runner.invoke(cli, ["report", str(run.path), "--format", "figures"]).exit_code == 0
    drawn = {p.relative_to(run.path / "report").as_posix() for p in (run.path / "report").rglob("*.*")}
    assert {"figures/overview_shapes2d.png", "figures/overview_shapes2d.pdf"} <= drawn
    assert not {"cells.csv", "table1.csv", "table1.tex", "index.html"} & drawn
    assert cli_runner.invoke(cli, ["report", str(run.path), "--format", "html"]).exit_code == 0
    page = (run.path / "report" / "index.html").read_text()
    assert "celeba: not in this run" in page and "shapes2d: no finished DIP-VAE cells" in page
    bad = cli_runner.invoke(cli, ["report", str(run.path), "--format", "pdf"])
    assert_one_line_error(bad, "unknown format 'pdf'")
    bad = cli_runner.invoke(cli, ["report", str(run.path), "--beta", "shapes2d=4"])
    assert_one_line_error(bad, "--beta takes DATASET=B1,B2")


def test_numbers_share_decimals_per_column_and_trim_only_common_zeros():
    from benchbench.report.numbers import Column, decimals, formatted

    assert decimals([81.3, 11.31], 2) == 2 and decimals([80.0, 96.5], 2) == 1 and decimals([1.0, 2.0], 4) == 0
    assert decimals([0.0021, 0.0042, float("nan")], 4) == 4
    column = Column("x", [96.5, 80.0, 7.25, float("nan")], [2.1213, 0.0, 0.001, float("nan")], 2, True)
    assert formatted(column, [0, 0, 1, 1]) == [
        ("96.50", "± 2.12", True),  # the best of its group
        ("80.00", "± 0", False),  # seeds that agree exactly
        ("7.25", "± <0.01", True),  # a spread too small to show at this precision
        ("–", "", False),
    ]


def test_a_bf16_run_is_named_a_departure_from_the_paper_protocol():
    from benchbench.core.registry import studies
    from benchbench.report.settings import TRAIN_FIELDS, protocol_warnings

    protocol = studies.get("kumar2018").protocol

    paper = ["shapes2d", "conv", 10, 300_000, 64, 1e-4, "fp32", "dataset", "pytorch", "pytorch", "split"]
    assert protocol_warnings(pd.DataFrame([paper], columns=["dataset", *TRAIN_FIELDS]), {}, protocol) == []
    bf16 = pd.DataFrame([paper, [*paper[:6], "bf16", *paper[7:]]], columns=["dataset", *TRAIN_FIELDS])
    (warning,) = protocol_warnings(bf16, {}, protocol)
    assert warning.startswith("Not the paper's protocol: precision bf16, fp32 (paper grid: fp32).")
    study = pd.DataFrame(
        [[*paper[:7], "bernoulli", "tensorflow", "tensorflow", "all"]], columns=["dataset", *TRAIN_FIELDS]
    )
    (warning,) = protocol_warnings(study, {}, protocol)
    assert "likelihood bernoulli (paper grid: dataset); init tensorflow (paper grid: pytorch)" in warning
    assert "train images all (paper grid: split)" in warning


def test_bold_marks_only_a_best_that_stands_apart():
    def bold(means, stds=None, higher=True, groups=None):
        column = Column("x", means, stds, digits=4, higher=higher)
        return [b for _, _, b in formatted(column, groups or [0] * len(means))]

    assert bold([0.2044, 0.2045], [0.0401, 0.0403]) == [False, False]  # bands overlap
    assert bold([12.5] * 4) == [False] * 4  # tied
    assert bold([0.9, 0.5, 0.4], [0.1, 0.1, 0.1]) == [True, False, False]  # 0.4 apart > 0.1 + 0.1
    assert bold([0.9, 0.75], [0.1, 0.1]) == [False, False]  # 0.15 apart < 0.2
    assert bold([0.3, 0.1], [0.0, 0.0], higher=False) == [False, True]  # no spread: apart when not tied
    assert bold([0.3, 0.1], [np.nan, np.nan], higher=False) == [False, False]  # one seed each: no bold
    assert bold([0.3, 0.1], [np.nan, 0.01], higher=False) == [False, True]  # a one-seed runner-up: its spread 0
    assert bold([0.30004, 0.30001], higher=False) == [False, False]  # tied at the shown precision
    assert bold([1.0, 2.0], [0.1, 0.1], groups=["a", "b"]) == [True, True]  # alone in its group
    assert bold([1.0, 2.0], groups=["a", "b"]) == [True, True]  # values that are no means over seeds (published)
    assert bold([1.0, 2.0], [np.nan, np.nan], groups=["a", "b"]) == [False, False]  # alone, but one seed


def test_report_profile_shows_every_metrics_preset_and_the_page_lists_the_others(tmp_path, cli_runner):
    """Beside the grid's (default) Higgins scores, the run holds ``fast`` ones: ``--profile fast``
    shows those, and each page names the option that shows the evaluations it does not."""
    run = RunStore(tmp_path / "two")
    run.write_manifest(Manifest.from_json({"grid": {"name": "paper"}, "git_commit": "abc", "devices": ["cpu"]}))
    fast = declaration("beta_vae_score").evaluation(profile="fast")
    for seed, higgins in enumerate([60.0, 64.0]):
        c = make_cell("vae", None, seed=seed)
        add(run, c, higgins, 0.01)
        record = {**fast.to_json(), "status": "done", "values": {"eval_accuracy": higgins - 12, "train_accuracy": 0.0}}
        run.add_cell(c).write_evaluation(EvaluationRecord.from_json(record), {})
    _, said = report(cli_runner, run)  # two option sets, neither the grid's: left out, with a note
    assert "beta_vae_score: evaluated with 2 option sets" in said
    default_page, fast_page = tmp_path / "default", tmp_path / "fast"
    report(cli_runner, run, "--out", str(default_page), "--profile", "default")
    report(cli_runner, run, "--out", str(fast_page), "--profile", "fast")
    mean = lambda folder: pd.read_csv(folder / "aggregate.csv")["beta_vae_score.eval_accuracy.mean"].item()  # noqa: E731
    assert (mean(default_page), mean(fast_page)) == (62.0, 50.0)
    shown_by = lambda folder: (folder / "index.html").read_text().split("Other evaluations this run holds")[1]  # noqa: E731
    assert f"--profile fast or --evaluation beta_vae_score={fast.key[:8]}" in shown_by(default_page)
    default_key = EvalSpec.of("beta_vae_score").key
    assert f"--profile default or --evaluation beta_vae_score={default_key[:8]}" in shown_by(fast_page)
    bad = cli_runner.invoke(cli, ["report", str(run.path), "--profile", "quick"])
    assert_one_line_error(bad, "unknown metric profile 'quick'")


def test_intervals_stand_beside_means_from_three_seeds(tmp_path, cli_runner):
    run = RunStore(tmp_path / "three")
    run.write_manifest(Manifest.from_json({"grid": {"name": "paper"}, "git_commit": "abc", "devices": ["cpu"]}))
    for seed, higgins in enumerate([60.0, 64.0, 65.0]):
        add(run, make_cell("vae", None, seed=seed), higgins, 0.01 + seed / 1000)
    add(run, make_cell("beta_vae", {"beta": 4}, seed=0), 50.0, 0.02)
    plain, wide = tmp_path / "plain", tmp_path / "wide"
    report(cli_runner, run, "--out", str(plain), "--format", "csv,latex")
    report(cli_runner, run, "--out", str(wide), "--format", "csv,latex", "--interval")
    from benchbench.report.analysis import bootstrap_interval

    low, high = bootstrap_interval([60.0, 64.0, 65.0])
    t1 = pd.read_csv(wide / "table1.csv").set_index("method")
    assert (t1.at["VAE", "metric.ci_low"], t1.at["VAE", "metric.ci_high"]) == (low, high)
    assert math.isnan(t1.at["β-VAE (β = 4)", "metric.ci_low"])  # one seed: no interval
    assert (low, high) == (60.0, 65.0)  # each extreme drawn thrice with p = 1/27 > 2.5 %
    assert "$\\pm$ 3 [60, 65]" in (wide / "table1.tex").read_text()
    assert "[" not in (plain / "table1.tex").read_text().split("\\midrule", 1)[1]
    agg = pd.read_csv(plain / "aggregate.csv")
    assert {"beta_vae_score.eval_accuracy.ci_low", "reconstruction_error.mse.ci_high"} <= set(agg.columns)


def test_statistics_compare_the_variants_and_the_metrics_from_cells_csv(shown):
    """Each comparison and each rank correlation the report writes, recomputed from its cells.csv."""
    import scipy.stats

    from benchbench.report.analysis import superiority

    run, folder = shown
    cells = pd.read_csv(folder / "cells.csv")
    cells = cells[(cells["dataset"] == "shapes2d") & (cells["status"] == "trained")]
    compared = pd.read_csv(folder / "statistics" / "comparisons_shapes2d.csv")
    everything = compared[(compared["scope"] == "all models") & (compared["output"] == "beta_vae_score.eval_accuracy")]
    assert len(everything) == 3  # VAE, β-VAE and DIP-VAE-I: three pairs
    for row in everything.itertuples():
        a, b = (cells.loc[cells["variant"] == v, "beta_vae_score.eval_accuracy"] for v in (row.a, row.b))
        assert (row.p_a_better, row.p_value) == pytest.approx(superiority(a, b)) and row.n_a == len(a)
    agreement = pd.read_csv(folder / "statistics" / "agreement_shapes2d.csv", index_col=0)
    rho = scipy.stats.spearmanr(cells["beta_vae_score.eval_accuracy"], cells["reconstruction_error.mse"])[0]
    assert agreement.at["beta_vae_score.eval_accuracy", "reconstruction_error.mse"] == pytest.approx(rho, abs=1e-12)
    page = (folder / "index.html").read_text()
    assert "Statistics — 2D Shapes" in page and "not distinguishable on Higgins et al. score" in page
    shares = pd.read_csv(folder / "statistics" / "variance_shapes2d.csv").set_index(["method", "output"])
    from benchbench.report.analysis import variance_shares

    again = variance_shares(cells, "shapes2d", ["beta_vae_score.eval_accuracy"]).set_index(["method", "output"])
    assert shares.loc[again.index, "between"].tolist() == pytest.approx(again["between"].tolist())
    assert (folder / "figures" / "variance_shapes2d.png").exists()


def test_a_run_off_the_papers_protocol_says_so_in_every_caption_and_figure(shown, tmp_path):
    """The paper-like run trains a few steps: Table 1's LaTeX caption says so, and every figure
    saved while its report is written carries the same sentence under it."""
    import matplotlib.pyplot as plt

    from benchbench.report import figures

    run, folder = shown
    caption = (folder / "table1.tex").read_text().split("\\caption{", 1)[1].split("}\n", 1)[0]
    assert "Not the paper's protocol: steps" in caption and "(paper grid: 300,000)" in caption
    assert "highest mean Higgins et al. score over seeds" in caption and "\\_" not in caption  # words, not ids
    fig = plt.figure()
    with figures.footnote("Not the paper's protocol: steps 6."):
        figures.save(fig, tmp_path, "noted")
    assert [t.get_text() for t in fig.texts] == ["Not the paper's protocol: steps 6."]
    plain = plt.figure()
    figures.save(plain, tmp_path, "plain")
    assert plain.texts == []


def test_tables_3_and_4_are_latex_too_each_number_as_in_the_csv(shown):
    run, folder = shown
    tex = (folder / "table3_shapes2d.tex").read_text()
    assert "\\label{tab:paperish-table3_shapes2d}" in tex and (folder / "table4_celeba.tex").exists()
    assert tex.count("\\begin{table}") == 3 and "\\label{tab:paperish-table3_shapes2d-3}" in tex  # a float a model
    matrix = pd.read_csv(folder / "correlations" / "shapes2d_VAE_seed_0_latent_latent.csv", index_col=0)
    block = tex.split("\\toprule\nVAE, seed 0 & ", 1)[1].split("\\midrule", 1)[1].split("\\midrule", 1)[0]
    first = next(line for line in block.splitlines() if line.startswith("z0 & "))
    shown_values = [float(v.replace("$-$", "-")) for v in first.removesuffix(" \\\\").split(" & ")[1:]]
    assert shown_values == [round(v, 2) for v in matrix.loc["z0"]]


def test_footnote_sits_below_a_legend_placed_under_the_axes(tmp_path):
    import matplotlib.pyplot as plt

    from benchbench.report import figures

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a series")
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14))
    with figures.footnote("Not the paper's protocol: steps 6."):
        figures.save(fig, tmp_path, "legend")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # saving closed the figure's own canvas
    note = fig.texts[0].get_window_extent(renderer)
    assert note.y1 <= legend.get_window_extent(renderer).y0  # under the legend, never across it


def test_traversal_tiles_have_gutters_and_latents_sorted_by_kl():
    import torch

    from benchbench.report.figures import tile_grid, traversal

    tiles = np.zeros((2, 3, 1, 4, 5))
    grid = tile_grid(tiles, gap=2)
    assert grid.shape == (2 * 4 + 2, 3 * 5 + 2 * 2, 1)
    assert (grid[4:6] == 1).all() and (grid[:, 5:7] == 1).all() and (grid[:4, :5] == 0).all()

    torch.manual_seed(0)
    net = build_net("conv", (1, 64, 64), 5)
    batch = torch.rand(6, 1, 64, 64)
    tiles, latents = traversal(net, batch, 5, steps=3)
    mu, logvar = (t.detach().double() for t in net.encode(batch))
    kl = (0.5 * (mu**2 + logvar.exp() - logvar - 1)).mean(0).numpy()
    assert list(latents[:, 0]) == list(np.argsort(-kl, kind="stable"))  # most informative first
    np.testing.assert_allclose(latents[:, 1], kl[latents[:, 0].astype(int)], rtol=1e-4)  # float32 sums
    assert tiles.shape == (5, 2 + 3, 1, 64, 64)
    np.testing.assert_array_equal(tiles[0, 0], batch[0].numpy())  # the image once, on the first row
    assert (tiles[1:, :2] == 1).all()


def test_outputs_are_named_in_words_with_their_unit_and_direction():
    from benchbench.plugin.metric import shown_output
    from benchbench.report.parts import heading
    from benchbench.report.tables import reading_order
    from benchbench.studies.kumar2018 import Kumar2018

    sampled = shown_output("dci@sampled.informativeness_test")
    assert sampled.words == "DCI informativeness, test accuracy (sampled codes)" and sampled.to_percent == 100
    assert shown_output("beta_vae_score.eval_accuracy").to_percent == 1  # stored in % already
    assert shown_output("plugin_metric.value").words == "plugin_metric.value"  # undeclared: its id
    assert heading("mig.mig", True) == "mutual information gap (MIG) ↑"
    assert heading("reconstruction_error.mse", False) == "reconstruction error (squared, per pixel) ↓"
    outputs = ["mig.mig", "sap.sap", "reconstruction_error.mse", "beta_vae_score.eval_accuracy"]
    assert reading_order(outputs, Kumar2018.metric_order) == [
        "beta_vae_score.eval_accuracy", "reconstruction_error.mse", "sap.sap", "mig.mig"
    ]  # fmt: skip
    assert reading_order(outputs) == [
        "beta_vae_score.eval_accuracy",
        "mig.mig",
        "reconstruction_error.mse",
        "sap.sap",
    ]  # fmt: skip  (no study: by name)


def claims_run(root, seeds: int, dip_error: float) -> dict[str, tuple[str, str]]:
    """2D Shapes with ``seeds`` seeds of VAE, β-VAE (β = 4, 60) and DIP-VAE (λ_od = 10), whose
    Higgins scores and latent correlations favour DIP-VAE and whose error rises with β; the
    claims checked on it, claim → (verdict, evidence)."""
    from benchbench.report.results import aggregate, tidy
    from benchbench.report.tables import Selection
    from benchbench.studies.kumar2018 import HIGGINS, check_claims

    run = RunStore(root / f"claims{seeds}")
    run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}, "study": "kumar2018"}))
    rows = [
        ("vae", {}, 60.0, 0.002, 0.2),
        ("beta_vae", {"beta": 4}, 62.0, 0.003, 0.2),
        ("beta_vae", {"beta": 60}, 70.0, 0.010, 0.3),
        ("dip_vae", {"lambda_od": 10}, 90.0, dip_error, 0.05),
    ]
    for seed in range(seeds):
        for method, hp, higgins, error, corr in rows:
            cell = on("shapes2d", make_cell(method, hp, seed=seed))
            add(run, cell, higgins + seed, error * (1 + 0.01 * seed), latent_correlation={"mean_abs_offdiag": corr})
    table = tidy(run)
    found = check_claims(table, aggregate(table), Selection(select_by=HIGGINS))
    return {c.claim.split(" ")[0] + " " + c.source: (c.verdict, c.evidence) for c in found}


def test_the_papers_claims_get_verdicts_from_the_runs_evidence(tmp_path):
    first, rises, corr = "DIP-VAE Table 1, Figure 1", "β-VAE's Table 1, Figure 1", "DIP-VAE's Tables 3–4"
    claims = claims_run(tmp_path, seeds=4, dip_error=0.002)
    assert {k: v[0] for k, v in claims.items()} == {first: "supported", rises: "supported", corr: "supported"}
    # 4 seeds a side: the exact two-sided permutation test's p is 2 / C(8, 4)
    assert "score: 91.5 vs VAE 61.5 (n = 4 and 4, P(better) = 1.00, p = 0.029)" in claims[first][1]
    assert "β = 1: 0.00203 (n = 4), β = 4: 0.003045 (n = 4), β = 60: 0.01015 (n = 4)" in claims[rises][1]

    worse = claims_run(tmp_path, seeds=4, dip_error=0.004)[first]  # twice the VAE's error: not "similar"
    assert worse[0] == "not supported" and "error 0.00406 vs 0.00203 (higher by more than 10 %)" in worse[1]

    one = claims_run(tmp_path, seeds=1, dip_error=0.002)  # one seed: no outcome could reach p < 0.05
    assert {k: v[0] for k, v in one.items()} == dict.fromkeys(claims, "not testable with this run")
    assert "the smallest possible p is 1); a run with 4 seeds a configuration could" in one[first][1]
    assert "the smallest possible p is 0.17); a run with models at 4 or more values of β could" in one[rises][1]
    against = claims_run(tmp_path, seeds=1, dip_error=0.004)[first]  # the means go the other way, untestably
    assert (
        against[0] == "not testable with this run"
        and "The means go the other way, but with these seeds" in (against[1])
    )


def test_a_small_run_says_why_it_shows_no_metric_agreement_and_no_variance_split(shown, tmp_path, cli_runner):
    _, folder = shown  # 2D Shapes has 10 trained models; CelebA 5, under the 8 that agreement needs
    page = (folder / "index.html").read_text()
    assert (folder / "figures" / "agreement_shapes2d.png").exists()
    assert not (folder / "figures" / "agreement_celeba.png").exists()
    assert "The metrics' agreement is not shown: 5 trained models" in page
    run = RunStore(tmp_path / "one_setting")
    run.write_manifest(Manifest.from_json({"grid": {"name": "paper"}, "git_commit": "abc", "devices": ["cpu"]}))
    for seed in range(4):  # every method at one setting, 4 seeds
        add(run, make_cell("vae", None, seed=seed), 60.0 + seed, 0.01)
        add(run, make_cell("beta_vae", {"beta": 4}, seed=seed), 70.0 - seed, 0.02)
    out, _ = report(cli_runner, run)
    assert not (out / "figures" / "variance_shapes2d.png").exists()
    assert "No variance split: each method has one hyperparameter setting here" in (out / "index.html").read_text()


def test_paper_figures_leave_the_protocol_to_the_text(tmp_path, cli_runner, monkeypatch):
    """Every figure carries the protocol line under it, except with ``--paper`` (its tables' footnote says it)."""
    from benchbench.report import figures

    said, save = [], figures.save

    def saving(fig, out, name):
        said.append(figures.FOOTNOTE.get())
        return save(fig, out, name)

    monkeypatch.setattr(figures, "save", saving)
    run = RunStore(tmp_path / "small")
    run.write_manifest(Manifest.from_json({"grid": {"name": "paper"}, "git_commit": "abc", "devices": ["cpu"]}))
    for seed in range(2):
        add(run, make_cell("vae", None, seed=seed), 60.0 + seed, 0.01)
    report(cli_runner, run, "--format", "figures", "--out", str(tmp_path / "page"))
    assert said and all(s.startswith("Not the paper's protocol") for s in said)
    said.clear()
    report(cli_runner, run, "--format", "figures", "--paper", "--out", str(tmp_path / "paper"))
    assert said and not any(said)


def test_columns_csv_gives_every_csv_column_its_unit(shown):
    """columns.csv: a row per column of cells.csv and aggregate.csv, each evaluation column with the
    unit its values are stored in (Higgins in %, an accuracy stored as a fraction said so), a
    seed count as a count, and which way is better only where that is a ranking."""
    _, folder = shown
    units = pd.read_csv(folder / "columns.csv", keep_default_na=False)
    for file in ("cells.csv", "aggregate.csv"):
        header = pd.read_csv(folder / file, nrows=0).columns.tolist()
        assert units[units["file"] == file]["column"].tolist() == header
    row = units.set_index(["file", "column"]).loc
    assert row["cells.csv", "beta_vae_score.eval_accuracy"][["unit", "better"]].tolist() == ["%", "higher"]
    assert row["aggregate.csv", "beta_vae_score.eval_accuracy.std"][["unit", "better"]].tolist() == ["%", ""]
    assert row["aggregate.csv", "beta_vae_score.eval_accuracy.n"]["unit"] == "count"
    assert row["aggregate.csv", "reconstruction_error.mse.mean"]["better"] == "lower"
    assert row["cells.csv", "hp.beta"]["holds"] == "hyperparameter beta"
    assert row["cells.csv", "attribute_accuracy.mean"]["unit"] == "%"
    assert row["cells.csv", "reconstruction_error.mse"]["unit"].startswith("as the metric defines")
    fraction = column_units(pd.DataFrame(columns=["factor_vae_score.eval_accuracy"]), pd.DataFrame(), {})
    assert fraction["unit"].tolist() == ["fraction (the report's tables show it in %)"]
