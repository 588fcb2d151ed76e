import shutil
from pathlib import Path

import pytest
from run_helpers import assert_one_line_error, grid_toml

from benchbench.cli import cli
from benchbench.planning.cells import Cell, make_packs
from benchbench.planning.grids import get_grid
from benchbench.plugin.metric import EvalSpec, declaration

GOOD = grid_toml(
    {
        "name": "mine",
        "seeds": 2,
        "train": {"steps": 5, "batch_size": 8, "latent_dim": 3},
        "metrics": {"reconstruction_error": {"num_images": 32}},
        "sweep": [
            {"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": [1, 4]}},
            {
                "datasets": ["shapes2d"],
                "method": "dip_vae",
                "hyperparameters": {"lambda_od": 2, "variant": ["i", "ii"]},
                "train": {"latent_dim": 5},
            },
        ],
    }
)


def test_paper_grid_is_the_seeds_sweep():
    grid = get_grid("paper")
    cells = grid.cells(seeds=1)
    by = lambda ds, m: [c for c in cells if c.dataset == ds and c.method == m]  # noqa: E731
    assert sorted(c.hyperparameters["beta"] for c in by("shapes2d", "beta_vae")) == [
        2,
        4,
        8,
        16,
        20,
        25,
        32,
        60,
        64,
        100,
        128,
        200,
        256,
    ]
    assert 60 not in [c.hyperparameters["beta"] for c in by("celeba", "beta_vae")]
    dips = by("chairs", "dip_vae")
    assert sorted(c.hyperparameters["lambda_od"] for c in dips) == [1, 2, 5, 10, 20, 50]
    assert all(c.hyperparameters["lambda_d"] == 10 * c.hyperparameters["lambda_od"] for c in dips)
    assert all(c.hyperparameters["cov_estimate"] == "running" and c.hyperparameters["variant"] == "i" for c in dips)
    assert {c.latent_dim for c in by("shapes2d", "vae")} == {10}
    assert {c.latent_dim for c in cells if c.dataset != "shapes2d"} == {32}
    assert {(c.steps, c.batch_size, c.lr, c.arch) for c in cells} == {(300_000, 64, 1e-4, "conv")}
    assert len(cells) == 20 + 18 + 18
    assert len(grid.cells()) == 3 * len(cells)


def test_toml_grid_expands_and_overrides(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    grid = get_grid(str(path))
    cells = grid.cells()
    assert len(cells) == 2 * 2 + 2 * 2
    dips = [c for c in cells if c.method == "dip_vae"]
    assert {c.hyperparameters["variant"] for c in dips} == {"i", "ii"} and {c.latent_dim for c in dips} == {5}
    (spec,) = grid.evaluations()
    assert spec.metric == "reconstruction_error" and spec.options == {"num_images": 32}
    assert len(grid.cells(seeds=3, methods=["dip_vae"], steps=7)) == 6
    assert {c.steps for c in grid.cells(steps=7)} == {7}
    assert {c.precision for c in cells} == {"fp32"} and {c.precision for c in grid.cells(precision="bf16")} == {"bf16"}
    path.write_text(GOOD.replace("steps = 5", 'steps = 5\nprecision = "bf16"', 1))
    assert {c.precision for c in get_grid(str(path)).cells()} == {"bf16"}


def test_cell_id_is_a_stable_hash_of_the_training_config(cell):
    c = cell("beta_vae", {"beta": 4}, seed=3)
    assert c.id == Cell.from_config(c.config()).id and len(c.id) == 16
    training = {"dataset", "method", "hyperparameters", "seed", "arch", "latent_dim", "steps", "batch_size", "lr"}
    assert set(c.config()) == training  # metrics are evaluations of a model, not part of it
    # pinned: changing how configs are hashed would orphan every stored result
    assert c.id == "d12a0742cf76bb9d"
    assert cell("beta_vae", {"beta": 4}, seed=4).id != c.id
    assert cell("beta_vae", {"beta": 4}, seed=3, steps=9).id != c.id
    bf16 = cell("beta_vae", {"beta": 4}, seed=3, precision="bf16")  # another model; fp32 ids unchanged
    assert bf16.config() == {**c.config(), "precision": "bf16"} and bf16.id != c.id
    assert Cell.from_config(bf16.config()) == bf16 and bf16.label.endswith("/s3/bf16")
    study = Cell(**{**c.config(), "likelihood": "bernoulli", "init": "tensorflow"})  # the study's setup
    assert study.config() == {**c.config(), "likelihood": "bernoulli", "init": "tensorflow"} and study.id != c.id
    assert Cell.from_config(study.config()) == study
    assert study.label.endswith("/s3/likelihood=bernoulli/init=tensorflow")
    assert Cell(**{**c.config(), "adam": "pytorch", "train_images": "split"}).id == c.id  # the defaults: no change


def test_packs_group_compatible_cells(cell):
    cells = [cell("beta_vae", {"beta": b}, seed=s) for b in (1, 4) for s in (0, 1)]
    cells += [cell("dip_vae", {"variant": v}) for v in ("i", "ii")] + [cell("vae", steps=99)]
    cells += [cell("beta_vae", {"beta": 4}, seed=2, precision="bf16")]
    packs = make_packs(cells, max_size=3)
    assert [len(p) for p in packs] == [3, 1, 1, 1, 1, 1]
    assert packs[0] == cells[:3] and packs[1] == cells[3:4]  # in the order given


@pytest.mark.parametrize(
    "edit,message",
    [
        (("[train]", "[train]\nsteps_ = 3"), "train.steps_: unknown key"),
        (("steps = 5", 'steps = "five"'), "train.steps: must be an integer"),
        (
            ('method = "beta_vae"', 'method = "beta_vea"'),
            "sweep[0].method: unknown method 'beta_vea'; did you mean beta_vae",
        ),
        (
            ('datasets = ["shapes2d"]\nmethod = "beta_vae"', 'datasets = ["shapes3"]\nmethod = "beta_vae"'),
            "sweep[0].datasets[0]: unknown dataset 'shapes3'",
        ),
        (("[metrics.reconstruction_error]", "[metrics.mig_score]"), "unknown metric 'mig_score'"),
        (("num_images = 32", "n_images = 32"), "metrics.reconstruction_error.n_images: unknown key"),
        (("beta = [1, 4]", "bta = [1, 4]"), "sweep[0].hyperparameters: method 'beta_vae' has no hyperparameter 'bta'"),
        (('variant = ["i", "ii"]', 'variant = ["i", "iv"]'), "variant must be one of"),
        (("seeds = 2", "seeds = 2\ncolour = 1"), "colour: unknown key"),
        (("seeds = 2", "seeds = 2 2"), "invalid TOML"),
        (("seeds = 2", "seeds = [0, 3, 0]"), "seeds: 0 listed twice in [0, 3, 0] (one model per seed)"),
        (("beta = [1, 4]", "beta = [1, -4]"), "beta must be a finite number ≥ 0, got -4.0"),
        (("beta = [1, 4]", "beta = nan"), "beta must be a finite number ≥ 0, got nan"),
        (("lambda_od = 2,", "lambda_od = -10,"), "lambda_od must be a finite number ≥ 0, got -10.0"),
        (("lambda_od = 2,", "lambda_od = 2, momentum = 2.0,"), "momentum must be between 0 and 1, got 2.0"),
        (("steps = 5", 'steps = 5\narch = "resnet"'), "train.arch: unknown arch 'resnet' (known: conv, mlp)"),
        (("steps = 5", "steps = 5\nlr = nan"), "train.lr: must be a finite number, got nan"),
        (("steps = 5", 'steps = 5\nprecision = "fp16"'), "train.precision: must be one of fp32, bf16, got 'fp16'"),
        (
            ("steps = 5", 'steps = 5\nlikelihood = "l2"'),
            "train.likelihood: must be one of dataset, bernoulli, gaussian, got 'l2'",
        ),
        (("steps = 5", "steps = 5\nlr = inf"), "train.lr: must be a finite number, got inf"),
        (("num_images = 32", 'num_images = "lots"'), "reconstruction_error.num_images: must be an integer or none"),
        (("seeds = 2", 'seeds = 2\nmetric_profile = "fastest"'), "unknown metric profile 'fastest'"),
        (('name = "mine"', 'name = "../escaped"'), "name: a run name is one folder name"),
        (('name = "mine"', 'name = ""'), "name: a run name is one folder name"),
        (("seeds = 2", 'seeds = 2\nrepresentations = ["mean", "median"]'), "representations: must be a non-empty"),
    ],
)
def test_malformed_grid_is_one_line_exit_2_nothing_written(tmp_path, cli_runner, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*edit, 1))
    results = tmp_path / "results"
    out = cli_runner.invoke(cli, ["run", "--grid", str(path), "--results", str(results), "--device", "cpu"])
    assert_one_line_error(out, str(path), message)
    assert not results.exists()


def test_paper_grid_stops_before_training_on_missing_datasets(tmp_path, cli_runner):
    results = tmp_path / "results"
    out = cli_runner.invoke(cli, ["run", "--grid", "paper", "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 2
    assert "celeba" in out.output and "chairs" in out.output and "--datasets shapes2d" in out.output
    assert len(out.output.strip().splitlines()) == 1
    assert not results.exists()


def test_example_grid_is_valid():
    from pathlib import Path

    grid = get_grid(str(Path(__file__).resolve().parents[1] / "examples" / "my_grid.toml"))
    assert grid.name == "dip-variants" and len(grid.cells()) == (3 + 4) * 2


def test_the_paper_grid_evaluates_at_disentanglement_libs_sizes_and_quick_at_the_fast_presets():
    """disentanglement_lib's gin configs (evaluation/metrics): beta_vae_sklearn batch_size 64,
    num_train 10000, num_eval 5000; mig/dci/sap num_train 10000; dci num_test 5000."""
    paper = {e.metric: e for e in get_grid("paper").evaluations()}
    assert {k: paper["beta_vae_score"].options[k] for k in ("batch_size", "num_train", "num_eval")} == {
        "batch_size": 64, "num_train": 10_000, "num_eval": 5_000}  # fmt: skip
    assert paper["mig"].options["num_train"] == paper["dci"].options["num_train"] == 10_000
    assert paper["dci"].options["num_test"] == 5_000
    assert all(e.is_default() for e in paper.values())
    quick = get_grid("quick").evaluations()
    pinned = {"dci": {"ties": "lowest"}, "sap": {"solver": "scikit-learn"}}  # as its reference run computed them
    pinned["modularity_explicitness"] = {"solver": "scikit-learn"}
    fast = [declaration(e.metric).evaluation(pinned.get(e.metric, {}), profile="fast") for e in quick]
    assert quick and [e.options for e in quick] == [f.options for f in fast]


def test_metric_profile_then_explicit_options(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        GOOD.replace("seeds = 2", 'seeds = 2\nmetric_profile = "fast"').replace(
            "[metrics.reconstruction_error]",
            "[metrics.mig]\n[metrics.dci]\nnum_test = 7\n[metrics.reconstruction_error]",
        )
    )
    evaluations = {e.metric: e for e in get_grid(str(path)).evaluations()}
    metrics = {name: e.options for name, e in evaluations.items()}
    assert metrics["mig"]["num_train"] == 3000
    assert metrics["dci"] == {"num_train": 1000, "num_test": 7, "ties": "random", "device": None}
    on_gpu = EvalSpec.of("dci", {"num_train": 1000, "num_test": 7, "device": "cuda"})
    assert evaluations["dci"].key == on_gpu.key  # where the trees grow is not what they compute
    assert metrics["reconstruction_error"] == {"num_images": 32}


def test_readme_grid_example_is_valid(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    path = tmp_path / "readme.toml"
    path.write_text(re.search(r"```toml\n(.*?)```", readme, re.S).group(1))
    grid = get_grid(str(path))
    mig = next(e for e in grid.evaluations() if e.metric == "mig")
    assert len(grid.cells()) == 2 * 2 * 2 and mig.options["num_train"] == 3000


@pytest.mark.parametrize(
    "args,message",
    [
        (["--name", "../escaped"], "--name: a run name is one folder name of letters, digits and . _ + -"),
        (["--name", ""], "--name: a run name is one folder name"),
        (["--name", "a/b"], "--name: a run name is one folder name"),
        (["--seeds", "0"], "Invalid value for '--seeds': 0 is not in the range x>=1."),
        (["--pack-size", "0"], "Invalid value for '--pack-size': 0 is not in the range x>=1."),
        (["--plugin", "BAD.py"], "plugin BAD.py failed to import: line 2: RuntimeError: no import for you"),
        (["--results", "FILE/results"], "cannot write to FILE/results/smoke: Not a directory"),
    ],
)
def test_bad_run_input_is_one_line_exit_2_nothing_written(tmp_path, cli_runner, args, message):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nraise RuntimeError('no import for you')\n")
    (tmp_path / "file").write_text("not a folder")
    args = [a.replace("BAD.py", str(bad)).replace("FILE", str(tmp_path / "file")) for a in args]
    message = message.replace("BAD.py", str(bad)).replace("FILE", str(tmp_path / "file"))
    results = tmp_path / "results"
    out = cli_runner.invoke(cli, ["run", "--grid", "smoke", "--device", "cpu", "--results", str(results), *args])
    assert_one_line_error(out, message)
    assert not results.exists() and not (tmp_path / "escaped").exists()


def test_locatello2019_grid_is_the_study(cli_runner):
    from collections import Counter

    from benchbench.cli import cli

    cells = get_grid("locatello2019").cells()
    assert len(cells) == 6 * 6 * 7 * 3  # methods × values × datasets × seeds

    def values(method, key, variant=None):
        found = {
            c.hyperparameters[key] for c in cells if c.method == method and c.hyperparameters.get("variant") == variant
        }
        return sorted(found)

    assert values("beta_vae", "beta") == [1, 2, 4, 6, 8, 16]
    assert values("factor_vae", "gamma") == [10, 20, 30, 40, 50, 100]
    assert values("beta_tc_vae", "beta") == [1, 2, 4, 6, 8, 10]
    assert values("annealed_vae", "c_max") == [5, 10, 25, 50, 75, 100]
    assert values("annealed_vae", "gamma") == [1000] and values("annealed_vae", "iteration_threshold") == [100_000]
    for variant, factor in (("i", 10), ("ii", 1)):  # DIP-VAE-I: λ_d = 10 λ_od; DIP-VAE-II: λ_d = λ_od
        dips = [c.hyperparameters for c in cells if c.method == "dip_vae" and c.hyperparameters["variant"] == variant]
        assert sorted({h["lambda_od"] for h in dips}) == [1, 2, 5, 10, 20, 50]
        assert all(h["lambda_d"] == factor * h["lambda_od"] and h["cov_estimate"] == "batch" for h in dips)
    study = [  # sweep.py's seven; dSprites and its variants from the official file
        "dsprites",
        "color_dsprites_official",
        "noisy_dsprites_official",
        "scream_dsprites",
        "shapes3d",
        "smallnorb4",
        "cars3d",
    ]
    assert Counter(c.dataset for c in cells) == dict.fromkeys(study, 108)
    assert {(c.batch_size, c.lr, c.latent_dim) for c in cells} == {(64, 1e-4, 10)}
    # FactorVAE's two optimizers each advanced the study's global step: 150,000 updates of each
    assert {(c.method == "factor_vae", c.steps) for c in cells} == {(True, 150_000), (False, 300_000)}
    assert values("factor_vae", "discriminator_probs") == ["clipped"]
    setup = {(c.likelihood, c.init, c.adam, c.train_images) for c in cells}
    assert setup == {("bernoulli", "tensorflow", "tensorflow", "all")}  # shared.gin, TF defaults, every image
    evaluations = get_grid("locatello2019").evaluations()
    shown = Counter(e.options.get("representation", "mean") for e in evaluations)
    assert shown == {"mean": len(evaluations) // 2, "sampled": len(evaluations) // 2}  # every metric on both codes
    metrics = {e.metric for e in evaluations}
    assert metrics == {
        "beta_vae_score",
        "factor_vae_score",
        "mig",
        "dci",
        "modularity_explicitness",
        "sap",
        "downstream_task",
        "unsupervised",
        "reconstruction_error",
    }
    assert "locatello2019" in cli_runner.invoke(cli, ["list", "grids"]).output


def test_a_run_made_before_the_training_settings_resumes_with_nothing_to_do(tmp_path, cli_runner):
    """The committed quick reference run (made before likelihood, init, adam and train_images
    existed): today's quick grid expands to exactly its cells, so the same command trains and
    evaluates nothing and every record stays as it was."""
    reference = Path(__file__).parent.parent / "results" / "reference" / "quick"
    run = tmp_path / "quick"
    shutil.copytree(reference, run, ignore=shutil.ignore_patterns("report", ".lock*"))
    assert sorted(c.id for c in get_grid("quick").cells()) == sorted(p.name for p in (run / "cells").iterdir())
    records = {p: p.read_bytes() for p in run.glob("cells/*/*.json")} | {
        p: p.read_bytes() for p in run.glob("cells/*/evaluations/*/*/*.json")
    }
    rerun = ["run", "--grid", "quick", "--device", "cpu", "--no-progress", "--results", str(tmp_path)]
    out = cli_runner.invoke(cli, rerun)
    assert out.exit_code == 0, out.output
    assert "models 3 trained" in out.output and "evaluations 48 done, 0 failed, 0 missing" in out.output
    assert {p: p.read_bytes() for p in records} == records


def test_the_grid_modules_example_is_a_valid_grid():
    """The schema example in ``benchbench.planning.grids``' docstring, read as a user's file would be."""
    import tomllib

    import benchbench.planning.grids

    block = benchbench.planning.grids.__doc__.split("::\n\n", 1)[1].split("\n\nEverything", 1)[0]
    spec = tomllib.loads("\n".join(line[4:] for line in block.splitlines()))
    benchbench.planning.grids.validate(spec, "benchbench.planning.grids example")
    assert spec["metric_profile"] == "fast" and "metric_profile" not in spec["train"]
    assert {c.init for c in benchbench.planning.grids.Grid("x", "", spec, "doc").cells()} == {"tensorflow"}
