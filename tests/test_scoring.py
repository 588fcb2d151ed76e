"""Scoring encoders trained elsewhere: loaded from a file, a module or TorchScript, checked on two
images, and scored exactly as the same network trained here is."""

import sys

import numpy as np
import pytest
import torch

import benchbench
from benchbench.cli import cli
from benchbench.core.arch import build_net, decoder_mean
from benchbench.core.records import EncoderSource
from benchbench.core.registry import BenchbenchError
from benchbench.evaluation.encoders import build, load_encoder
from benchbench.evaluation.evaluate import evaluate_cell
from benchbench.plugin.metric import EvalSpec
from benchbench.storage.store import RunStore

SPECS = {
    "mig": {"num_train": 300},
    "unsupervised": {"num_train": 300, "representation": "sampled"},
    "reconstruction_error": {"num_images": 64},
}


class Wrapped:
    """A network as another codebase would hand it over: posterior and decoder, images in [0, 1]."""

    def __init__(self, net):
        self.net = net

    def encode(self, images):
        return self.net.encode(images)

    def decode(self, z):
        return decoder_mean(self.net.decode(z))


def test_a_network_scores_exactly_as_when_trained_here(cell, shapes, tmp_path):
    net = build_net("conv", (1, 64, 64), 4)
    trained = cell("vae")
    store = RunStore(tmp_path / "run").add_cell(trained)
    store.save_model(net.state_dict())
    specs = [EvalSpec.of(name, options) for name, options in SPECS.items()]
    evaluate_cell(store, shapes, torch.device("cpu"), specs)
    scored = benchbench.score(Wrapped(net), shapes, list(SPECS), options=SPECS, seed=trained.seed, progress=False)
    assert set(scored["status"]) == {"done"}
    for spec in specs:
        expected = store.evaluation(spec.metric, spec.key).values
        rows = scored[scored["key"] == spec.key]
        assert dict(zip(rows["output"], rows["value"])) == expected, spec.metric  # bit for bit
    assert set(scored["metric"]) == {"mig", "unsupervised@sampled", "reconstruction_error"}


def test_codes_alone_score_what_needs_no_posterior_nor_decoder(shapes):
    net = build_net("conv", (1, 64, 64), 4)
    scored = benchbench.score(lambda x: net.encode(x)[0], shapes, list(SPECS), options=SPECS, progress=False)
    status = dict(zip(scored["metric"], scored["status"]))
    assert status == {"mig": "done", "unsupervised@sampled": "not_applicable", "reconstruction_error": "not_applicable"}
    errors = dict(zip(scored["metric"], scored["error"]))
    assert (
        "no posterior log-variance" in errors["unsupervised@sampled"] and "no decoder" in errors["reconstruction_error"]
    )


def test_encoders_load_from_a_file_a_module_and_torchscript(tmp_path, shapes):
    (tmp_path / "mine.py").write_text("def encode(images):\n    return images.flatten(1)[:, ::512]\n")
    from_file = load_encoder(EncoderSource.parse(f"{tmp_path / 'mine.py'}:encode"))
    images = torch.as_tensor(shapes.images_at(np.arange(3)))
    assert from_file(images).shape == (3, 8)
    assert load_encoder(EncoderSource.parse("benchbench.core.arch:decoder_mean")) is decoder_mean  # MODULE:NAME
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 3)))
    scripted.save(str(tmp_path / "enc.pt"))
    scored = benchbench.score(
        str(tmp_path / "enc.pt"), shapes, ["mig"], options={"mig": {"num_train": 200}}, progress=False
    )
    assert scored["status"].tolist() == ["done"] and 0 <= scored["value"].iloc[0] <= 1
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 3))
    batch = {"input": {0: torch.export.Dim("batch")}}  # any batch size, as metrics encode in batches
    torch.export.save(torch.export.export(module, (images[:2],), dynamic_shapes=batch), str(tmp_path / "enc.pt2"))
    exported = load_encoder(EncoderSource.parse(str(tmp_path / "enc.pt2")))
    torch.testing.assert_close(exported(images[:2]), module(images[:2]))
    scored = benchbench.score(  # an exported program refuses .eval(): scored in the mode it was traced in
        str(tmp_path / "enc.pt2"), shapes, ["mig"], options={"mig": {"num_train": 200}}, progress=False
    )
    assert scored["status"].tolist() == ["done"] and 0 <= scored["value"].iloc[0] <= 1


@pytest.mark.parametrize(
    "encoder, message",
    [
        (lambda x: 1 / 0, "raised on a batch of 2 images (2, 1, 64, 64): ZeroDivisionError: division by zero"),
        (lambda x: x.flatten(), "must return codes of shape (n, d); got (8192,) for n = 2"),
        (lambda x: x.flatten(1)[:, :3].long(), "must return float codes; got int64"),
        (lambda x: x.flatten(1)[:, :3] * np.nan, "returned codes that are not finite"),
        (lambda x: (x.flatten(1)[:, :3], x.flatten(1)[:1, :3]), "log-variances of shape (n, d); got (1, 3)"),
    ],
)
def test_unusable_encoders_are_one_line_errors(shapes, encoder, message):
    with pytest.raises(BenchbenchError, match=None) as caught:
        benchbench.score(encoder, shapes, ["mig"], progress=False)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_unloadable_encoders_are_one_line_errors(tmp_path):
    (tmp_path / "broken.py").write_text("def encode(x):\n    return x +\n")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    (tmp_path / "ok.py").write_text("class Encoder:\n    pass\n")
    for spec, message in [
        (str(tmp_path / "nope.pt"), "encoder file not found"),
        (f"{tmp_path / 'broken.py'}:encode", "failed to import: line 2"),
        (f"{tmp_path / 'ok.py'}:encoder", "has no 'encoder'"),
        (f"{tmp_path / 'ok.py'}:Encoder", "is a class; give an instance or a function"),
        (str(tmp_path / "junk.pt"), "does not load as TorchScript"),
        ("no_such_module_xyz:encode", "encoder module not found"),
    ]:
        with pytest.raises(BenchbenchError) as caught:
            load_encoder(EncoderSource.parse(spec))
        assert message in str(caught.value), (spec, str(caught.value))
    with pytest.raises(BenchbenchError, match="udr compares the seeds"):
        benchbench.score(lambda x: x.flatten(1)[:, :3], "shapes2d", ["udr"], progress=False)


def test_pca_and_ica_baselines_are_scikit_learns_transforms(shapes, monkeypatch):
    from sklearn.decomposition import PCA, FastICA

    from benchbench.evaluation import encoders
    from benchbench.evaluation.encoders import fitting_images

    monkeypatch.setattr(encoders, "FIT_IMAGES", 600)  # 10,000 by default: ICA takes a while
    x = fitting_images(shapes, seed=3)
    assert x.shape == (600, 64 * 64) and set(np.unique(x)) <= {0.0, 1.0}
    images = shapes.images_at(np.arange(0, 737_280, 50_000))
    flat = images.reshape(len(images), -1)
    pca = PCA(n_components=5, random_state=3).fit(x)
    ica = FastICA(n_components=5, whiten="unit-variance", random_state=3, max_iter=1000).fit(x)
    for name, reference in (("pca", pca), ("ica", ica)):
        codes = build(name, shapes, 5, seed=3)(torch.as_tensor(images)).numpy()
        np.testing.assert_allclose(codes, reference.transform(flat), rtol=1e-4, atol=1e-4 * np.abs(codes).max())


def test_the_random_baseline_is_seeded_and_leaves_the_callers_stream_alone(shapes):

    images = torch.as_tensor(shapes.images_at(np.arange(4)))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    one, same, other = (build("random", shapes, 4, seed=s) for s in (0, 0, 1))
    assert torch.rand(1) == before  # building did not draw from the global stream
    assert torch.equal(one.encode(images)[0], same.encode(images)[0])
    assert not torch.equal(one.encode(images)[0], other.encode(images)[0])


def test_the_factors_baseline_is_the_ceiling(shapes):
    scored = benchbench.score(
        "baseline:factors", shapes, ["mcc", "irs", "reconstruction_error"], profile="fast", progress=False
    )
    values = {(m, o): v for m, o, v in zip(scored["metric"], scored["output"], scored["value"])}
    assert values["mcc", "mcc_pearson"] == pytest.approx(1.0) and values["irs", "irs"] == pytest.approx(1.0)
    assert build("factors", shapes, 10, 0).latent_dim == 5  # shapes2d's five factors
    recon = scored[scored["metric"] == "reconstruction_error"]
    assert recon.status.tolist() == ["not_applicable"] and "without a decoder" in recon.error.iloc[0]
    with pytest.raises(BenchbenchError, match="unknown baseline 'pcb' \\(known: pca, ica, random, factors\\)"):
        benchbench.score("baseline:pcb", shapes, ["mig"], progress=False)


def test_scores_in_a_run_are_records_computed_once_and_reported_beside_each_other(tmp_path, cli_runner):
    from test_evaluations import invoke

    (tmp_path / "mine.py").write_text("def encode(images):\n    return images.flatten(1)[:, ::700]\n")
    mine = f"{tmp_path / 'mine.py'}:encode"
    common = [
        "--dataset",
        "shapes2d",
        "--profile",
        "fast",
        "--results",
        str(tmp_path),
        "--device",
        "cpu",
        "--no-progress",
    ]
    invoke(cli_runner, "score", mine, "--metrics", "mig", "--label", "mine", *common)
    run = RunStore(tmp_path / "scores")
    (store,) = run.cell_stores()
    key = EvalSpec.of("mig", {"num_train": 3000}).key
    first = store.evaluation("mig", key)
    assert first.status == "done" and store.cell().method == "mine" and store.status().status == "trained"
    invoke(cli_runner, "score", mine, "--metrics", "mig,mcc", "--label", "mine", *common)
    assert store.evaluation("mig", key) == first and store.evaluation(
        "mcc", EvalSpec.of("mcc", {"num_train": 3000}).key
    )
    invoke(cli_runner, "score", "baseline:pca", "--metrics", "mig", "--label", "PCA", *common)
    invoke(cli_runner, "report", str(run.path), "--format", "csv")
    rows = __import__("pandas").read_csv(run.path / "report" / "aggregate.csv")
    assert sorted(rows["label"]) == ["PCA", "mine"] and rows["mig.mig.mean"].notna().all()
    (tmp_path / "mine.py").write_text("def encode(images):\n    return images.flatten(1)[:, ::600]\n")  # changed
    invoke(
        cli_runner,
        "evaluate",
        str(run.path),
        "--metrics",
        "unsupervised",
        "--profile",
        "fast",
        "--device",
        "cpu",
        "--no-progress",
        code=1,
    )  # fmt: skip  (the changed file's evaluation fails)
    records = {s.cell().method: s.evaluation("unsupervised", EvalSpec.of("unsupervised", {"num_train": 3000}).key)
               for s in run.cell_stores()}  # fmt: skip
    assert records["PCA"].status == "done"  # a baseline opens again from its name, size and seed
    assert records["mine"].status == "failed" and "changed since it was scored" in records["mine"].error
    invoke(cli_runner, "score", mine, "--metrics", "mig", "--label", "mine", *common)
    assert len(run.cell_stores()) == 3  # the changed file is a new encoder, beside the old one


def test_score_refuses_bad_input_in_one_line_writing_nothing(tmp_path, cli_runner):
    from run_helpers import assert_one_line_error

    from benchbench.cli import cli

    args = ["--results", str(tmp_path), "--device", "cpu", "--no-progress"]
    for extra, message in [
        (["baseline:pca", "--dataset", "shapes2e"], "unknown dataset 'shapes2e'"),
        ([str(tmp_path / "nope.pt"), "--dataset", "shapes2d"], "encoder file not found"),
        (["baseline:pca", "--dataset", "shapes2d", "--metrics", "udr"], "udr compares the seeds"),
        (["baseline:pca", "--dataset", "shapes2d", "--metrics", "mig", "--option", "mig.bins=3"], "unknown key"),
    ]:
        assert_one_line_error(cli_runner.invoke(cli, ["score", *extra, *args]), message)
    assert not (tmp_path / "scores").exists()


CODE_SPECS = {
    "mig": {"num_train": 200},
    "beta_vae_score": {"batch_size": 8, "num_train": 40, "num_eval": 20},
    "irs": {"num_train": 200},
    "reconstruction_error": {"num_images": 8},
}


def scaled(x):
    """An element-wise encoder: its codes do not depend on how images are batched."""
    return x.flatten(1) * torch.tensor([2.0, -1.0, 0.5, 3.0]) + 0.1


def code_scores(encoder, dataset):
    table = benchbench.score(encoder, dataset, list(CODE_SPECS), options=CODE_SPECS, progress=False)
    table = table.fillna({"output": "", "value": -1.0})  # NaN is not equal to itself
    return {(m, o): (status, value, error) for m, o, status, value, error in
            zip(table["metric"], table["output"], table["status"], table["value"], table["error"])}  # fmt: skip


def test_codes_of_every_image_score_as_their_encoder_does(tmp_path):
    from toy import ToyFactors

    toy = ToyFactors()
    path = tmp_path / "codes.npz"
    images = toy.image_store(torch.device("cpu")).batch(torch.arange(len(toy)))  # what ModelView encodes
    np.savez(path, codes=scaled(images).numpy())
    from_codes, from_encoder = code_scores(f"codes:{path}", toy), code_scores(scaled, toy)
    done = {k: v for k, v in from_encoder.items() if v[0] == "done"}
    assert {m for m, _ in done} == {"mig", "beta_vae_score", "irs"}  # every image has its code: all apply
    assert {k: from_codes[k] for k in done} == done  # bit for bit
    (recon,) = [v for (m, _), v in from_codes.items() if m == "reconstruction_error"]
    assert recon[0] == "not_applicable" and "without a decoder" in recon[2]


def test_codes_of_some_observations_score_what_needs_only_observed_samples(tmp_path):
    from toy import ToyFactors

    toy = ToyFactors()
    indices = np.sort(np.random.default_rng(0).choice(len(toy), 200, replace=False))
    factors = toy.index_to_factors(indices)
    codes = (factors[:, ::-1] * [0.5, 2.0, -1.0, 4.0] + 1.0).astype(np.float32)  # the factors, permuted and scaled
    np.savez(tmp_path / "some.npz", codes=codes, indices=indices)
    np.savez(tmp_path / "own.npz", codes=codes, factors=factors, factor_names=np.array(toy.factor_names))
    some = code_scores(f"codes:{tmp_path / 'some.npz'}", toy)
    own = code_scores(f"codes:{tmp_path / 'own.npz'}", None)
    # a dataset's observations by index, or the same observations brought with their factors
    assert {k: v[:2] for k, v in some.items()} == {k: v[:2] for k, v in own.items()}
    status = {m: v[0] for (m, _), v in some.items()}
    assert status == {"mig": "done", "irs": "done", "beta_vae_score": "not_applicable",
                      "reconstruction_error": "not_applicable"}  # fmt: skip
    assert "no others to draw that share a factor" in some["beta_vae_score", ""][2]
    mcc = benchbench.score(f"codes:{tmp_path / 'own.npz'}", None, ["mcc"], options={"mcc": {"num_train": 100}},
                           progress=False)  # fmt: skip
    assert dict(zip(mcc["output"], mcc["value"]))["mcc_pearson"] == pytest.approx(1.0, abs=1e-12)


def test_code_files_in_a_run_are_models_of_their_dataset(tmp_path, cli_runner):
    from test_evaluations import invoke

    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, (500, 3))
    codes = (factors + 0.1 * rng.standard_normal((500, 3))).astype(np.float32)
    np.savez(tmp_path / "mine.npz", codes=codes, factors=factors)
    common = ["--profile", "fast", "--results", str(tmp_path), "--no-progress"]
    score = ["score", "--codes", str(tmp_path / "mine.npz"), "--dataset", "mydata", "--metrics", "mig", *common]
    invoke(cli_runner, *score)
    run = RunStore(tmp_path / "scores")
    (store,) = run.cell_stores()
    assert (store.cell().dataset, store.cell().method) == ("mydata", "mine")
    first = store.evaluation("mig", EvalSpec.of("mig", {"num_train": 3000}).key)
    assert first.status == "done" and first.values["mig"] > 0.5
    assert "0 evaluations computed" in invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig",
                                              "--profile", "fast", "--no-progress").output  # fmt: skip
    invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mcc", "--profile", "fast", "--no-progress")
    assert store.evaluation("mcc", EvalSpec.of("mcc", {"num_train": 3000}).key).status == "done"
    invoke(cli_runner, "report", str(run.path), "--format", "csv")
    rows = __import__("pandas").read_csv(run.path / "report" / "aggregate.csv")
    assert rows[["dataset", "label"]].values.tolist() == [["mydata", "mine"]]
    np.savez(tmp_path / "mine.npz", codes=codes[:, ::-1].copy(), factors=factors)  # changed
    invoke(cli_runner, *score)
    assert len(run.cell_stores()) == 2  # a changed file is a new model, beside the old one


def test_bad_code_files_are_one_line_errors_writing_nothing(tmp_path, cli_runner):
    from run_helpers import assert_one_line_error

    from benchbench.cli import cli

    def npz(name, **members):
        np.savez(tmp_path / name, **members)
        return ["--codes", str(tmp_path / name)]

    codes = np.zeros((10, 3), np.float32)
    args = ["--results", str(tmp_path), "--no-progress", "--metrics", "mig"]
    for extra, message in [
        ([*npz("short.npz", codes=codes), "--dataset", "shapes2d"], "10 codes for the 737280 images of shapes2d"),
        ([*npz("nan.npz", codes=codes + np.nan), "--dataset", "shapes2d"], "not all finite"),
        ([*npz("ints.npz", codes=codes.astype(int)), "--dataset", "shapes2d"], "must be floats; got int64"),
        ([*npz("flat.npz", codes=codes[:, 0]), "--dataset", "shapes2d"], "codes must have shape (n, d)"),
        ([*npz("typo.npz", codes=codes, indexes=np.arange(10)), "--dataset", "shapes2d"], "got codes, indexes"),
        ([*npz("far.npz", codes=codes, indices=np.arange(10) + 10**7), "--dataset", "shapes2d"], "0 to 737279"),
        (npz("alone.npz", codes=codes), "have no factors: give the dataset"),
        ([*npz("own.npz", codes=codes, factors=np.ones((10, 2))), "--dataset", "shapes2d"], "other than shapes2d"),
        ([*npz("few.npz", codes=codes, factors=np.ones((9, 2)))], "factors must have shape (n, d) with n = 10"),
        (["baseline:pca", *npz("both.npz", codes=codes)], "not both"),
        ([str(tmp_path / "both.npz"), "--dataset", "shapes2d"], "does not load as TorchScript"),
        (["--codes", str(tmp_path / "none.npz")], "codes file not found"),
    ]:
        assert_one_line_error(cli_runner.invoke(cli, ["score", *extra, *args]), message)
    (tmp_path / "text.npz").write_text("not a zip")
    assert_one_line_error(cli_runner.invoke(cli, ["score", "--codes", str(tmp_path / "text.npz"), *args]), "npz")
    assert not (tmp_path / "scores").exists()


@pytest.mark.slow  # fits PCA and FastICA and scores four baselines: the full suite's
def test_report_baselines_scores_them_beside_the_models_once(tmp_path, cli_runner, monkeypatch):
    from test_evaluations import invoke, smoke

    monkeypatch.setattr("benchbench.evaluation.encoders.FIT_IMAGES", 1000)  # FastICA's whitening SVD: 40 s at 10,000
    run = smoke(cli_runner, tmp_path, "--seeds", "2")
    invoke(cli_runner, "report", str(run.path), "--format", "csv", "--baselines", "--device", "cpu")
    rows = __import__("pandas").read_csv(run.path / "report" / "aggregate.csv").set_index("label")
    baselines = ["baseline:factors", "baseline:ica", "baseline:pca", "baseline:random"]
    assert sorted(rows.index) == [*baselines, "β-VAE (β = 2)", "β-VAE (β = 8)"]
    assert (rows["mig.mig.n"] == 2).all()  # each baseline with each of the run's seeds
    assert rows["mig.mig.mean"].idxmax() == "baseline:factors"  # the ceiling
    assert pd_isna(rows.loc["baseline:pca", "reconstruction_error.mse.mean"])  # PCA's codes have no decoder here
    baseline = {s.cell().method: s for s in run.cell_stores()}["baseline:pca"]
    assert baseline.cell().latent_dim == 4  # the run's latent size
    before = {p: p.stat().st_mtime_ns for p in (baseline.path / "evaluations").rglob("*.json")}
    invoke(cli_runner, "report", str(run.path), "--format", "html", "--baselines", "--device", "cpu")
    assert {p: p.stat().st_mtime_ns for p in (baseline.path / "evaluations").rglob("*.json")} == before
    page = (run.path / "report" / "index.html").read_text()
    assert "baseline:pca: PCA fitted on 1,000 training images, 4 codes" in page  # what each scored row is
    assert "steps 6 (paper grid: 300,000)" in page  # scored models are no training settings


def pd_isna(value) -> bool:
    return bool(__import__("pandas").isna(value))


def test_compare_sets_two_runs_scores_of_one_encoder_side_by_side(tmp_path, cli_runner, monkeypatch):
    from test_evaluations import invoke

    monkeypatch.setattr("benchbench.evaluation.encoders.FIT_IMAGES", 500)
    for name in ("one", "two"):
        invoke(cli_runner, "score", "baseline:pca", "--dataset", "shapes2d", "--latent-dim", "4", "--metrics",
               "mig", "--option", "mig.num_train=300", "--name", name, "--results", str(tmp_path),
               "--no-progress")  # fmt: skip
    out = invoke(cli_runner, "compare", str(tmp_path / "one"), str(tmp_path / "two"))
    assert "mig.mig" in out.output and "identical" in out.output and "1 shared model" in out.output, out.output


WRAPPER = """
import numpy as np
import torch
from pathlib import Path

HERE = Path(__file__).parent
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 3))
net.load_state_dict(torch.load(HERE / "weights.pt"))
projection = np.load(HERE / "projection.npy")

def function(x):
    return torch.as_tensor(x.flatten(1).numpy() @ projection)
"""


@pytest.mark.parametrize("name", ["net", "function"])
def test_an_encoder_whose_weights_file_changed_is_a_new_model_said_in_one_line(tmp_path, cli_runner, name):
    """The wrapper's bytes stay the same; what it loads changes: a torch module is known by its
    parameters, a function by its codes on the dataset's first images."""
    (tmp_path / "wrapper.py").write_text(WRAPPER)
    args = ["score", f"{tmp_path / 'wrapper.py'}:{name}", "--dataset", "shapes2d", "--results", str(tmp_path / "r"),
            "--metrics", "mig", "--option", "mig.num_train=200", "--no-progress", "--device", "cpu"]  # fmt: skip

    def weights(seed):
        torch.manual_seed(seed)
        torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 3)).state_dict(),
                   tmp_path / "weights.pt")  # fmt: skip
        np.save(tmp_path / "projection.npy", np.random.default_rng(seed).normal(size=(64 * 64, 3)).astype(np.float32))

    weights(0)
    first = cli_runner.invoke(cli, args)
    assert first.exit_code == 0 and "note:" not in first.output, first.output
    again = cli_runner.invoke(cli, args)
    assert again.exit_code == 0 and "note:" not in again.output  # the same weights: the same model, nothing new
    weights(1)
    wrapper = f"benchbench_plugin_{abs(hash(str((tmp_path / 'wrapper.py').resolve()))):x}"  # import_source's name
    del sys.modules[wrapper]  # a command is a new process: the wrapper loads its weights again
    changed = cli_runner.invoke(cli, args)
    assert changed.exit_code == 0, changed.output
    (note,) = [line for line in changed.output.splitlines() if line.startswith("note:")]
    assert "is not what was scored as model" in note and "(its file or weights changed)" in note
    stores = RunStore(tmp_path / "r" / "scores").cell_stores()
    assert len(stores) == 2 and len({s.scored().sha256 for s in stores}) == 2
    values = [s.evaluations()[0].values["mig"] for s in stores]
    assert values[0] != values[1]
