"""CelebA and 3D Chairs read from tiny files in their real layouts (JPEGs, PNG renders, lists)."""

import numpy as np
import pytest
from PIL import Image
from run_helpers import values

from benchbench.cli import cli
from benchbench.core.registry import datasets
from benchbench.plugin.data import DatasetError

ATTRS = ["Bangs", "Male", "Smiling"]


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHBENCH_DATA", str(tmp_path))
    return tmp_path


def write_celeba(root, n=20):
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = rng.choice([-1, 1], size=(n, len(ATTRS)))
    colours = rng.integers(0, 256, (n, 3))
    for i in range(n):
        img = np.zeros((218, 178, 3), np.uint8)  # aligned CelebA faces are 178 wide, 218 high
        img[35:183, 15:163] = colours[i]  # the central 148×148 crop is one colour, the rest black
        Image.fromarray(img).save(folder / "img_align_celeba" / f"{i + 1:06d}.jpg", quality=95)
    lines = [str(n), " ".join(ATTRS)] + [f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in labels[i]) for i in range(n)]
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    parts = [f"{i + 1:06d}.jpg {0 if i < 14 else 1 if i < 17 else 2}" for i in range(n)]
    (folder / "list_eval_partition.txt").write_text("\n".join(parts) + "\n")
    return (labels > 0).astype(int), colours


def test_celeba_reads_the_torchvision_layout(root):
    labels, colours = write_celeba(root)
    ds = datasets.get("celeba")()
    assert ds.label_names == tuple(ATTRS) and ds.labels.shape == (20, 3) and ds.likelihood == "gaussian"
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.pixels.dtype == np.uint8 and ds.pixels.shape == (20, 3, 64, 64)
    images = ds.images_at(np.arange(20))
    assert images.dtype == np.float32 and images.shape == (20, 3, 64, 64)
    # the crop keeps only the uniform centre: every pixel is the face colour (JPEG-close)
    np.testing.assert_allclose(images.mean(axis=(2, 3)), colours / 255.0, atol=0.03)
    assert images.std(axis=(2, 3)).max() < 0.03
    train, test = ds.train_indices, ds.test_indices
    assert train.size == 18 and test.size == 2 and np.intersect1d(train, test).size == 0
    official = datasets.get("celeba_official")()
    assert official.train_indices.tolist() == list(range(14)) and official.test_indices.tolist() == [17, 18, 19]
    mtime = (root / "celeba" / "cache").stat().st_mtime_ns
    assert datasets.get("celeba")().pixels.filename == ds.pixels.filename  # cache reused
    assert (root / "celeba" / "cache").stat().st_mtime_ns == mtime


def test_celeba_errors(root):
    with pytest.raises(DatasetError) as missing:
        datasets.get("celeba")()
    message = str(missing.value)
    assert "\n" not in message and "img_align_celeba" in message and "list_attr_celeba.txt" in message
    assert "mmlab.ie.cuhk.edu.hk" in message
    write_celeba(root)
    attr = root / "celeba" / "list_attr_celeba.txt"
    attr.write_text("\n".join(attr.read_text().splitlines()[:12]) + "\n")
    with pytest.raises(DatasetError, match="is truncated: header says 20 images, found 10"):
        datasets.get("celeba")()


def write_chairs(root, models=("b_model", "a_model", "c_model", "d_model", "e_model"), size=120):
    for m, model in enumerate(models):
        folder = root / "rendered_chairs" / model / "renders"
        folder.mkdir(parents=True)
        for e, elev in enumerate((20, 30)):
            for a, azim in enumerate((0, 11, 22)):
                img = np.full((size, size, 3), 255, np.uint8)
                side = 10 * (1 + a) + 5 * e + 2 * m  # a dark square whose size encodes the factors
                img[:side, :side] = 40
                Image.fromarray(img).save(folder / f"image_{e * 3 + a:03d}_p{elev:03d}_t{azim:03d}_r096.png")


def test_chairs_reads_renders_as_masks(root):
    write_chairs(root)
    ds = datasets.get("chairs")()
    assert ds.factor_sizes == (5, 2, 3) and len(ds) == 30
    img = ds.images(np.array([[0, 1, 2]]))  # model a_model (sorted), elevation 30, azimuth 22
    assert img.shape == (1, 1, 64, 64) and set(np.unique(img)) <= {0.0, 1.0}
    side = 10 * 3 + 5 * 1 + 2 * 1  # a_model was written second
    assert abs(img.sum() - (side * 64 / 120) ** 2) < 3 * side  # the square, at 64/120 scale
    assert ds.train_indices.tolist() == list(range(24)) and ds.test_indices.tolist() == list(range(24, 30))
    (root / "rendered_chairs" / "chairs809.txt").write_text("c_model\na_model\n")
    subset = datasets.get("chairs809")()
    assert subset.factor_sizes == (2, 2, 3)
    np.testing.assert_array_equal(subset.images(np.array([[1, 1, 2]])), img)


def test_chairs_errors(root, cli_runner):
    write_chairs(root)
    next((root / "rendered_chairs" / "a_model" / "renders").glob("*_t011_*.png")).unlink()
    with pytest.raises(DatasetError, match=r"a_model/renders has 5 renders, expected 2 elevations × 3 azimuths"):
        datasets.get("chairs")()
    out = cli_runner.invoke(
        cli, ["run", "--grid", "paper", "--datasets", "chairs", "--device", "cpu", "--results", str(root / "results")]
    )
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "a_model/renders has 5 renders" in out.output and not (root / "results").exists()


@pytest.mark.slow
def test_paper_grid_runs_celeba_when_present(root, cli_runner):
    write_celeba(root)
    out = cli_runner.invoke(
        cli,
        [
            "run",
            "--grid",
            "paper",
            "--datasets",
            "celeba",
            "--methods",
            "vae",
            "--seeds",
            "1",
            "--steps",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--results",
            str(root / "r"),
        ],
    )
    assert out.exit_code == 0, out.output
    from benchbench.storage.store import RunStore

    (store,) = RunStore(root / "r" / "paper").cell_stores()
    metrics = values(store)
    assert store.status().status == "trained" and store.cell().latent_dim == 32
    assert set(metrics["attribute_accuracy"]) >= {"Bangs", "Male", "Smiling", "mean"}
    assert {"beta_vae_score", "latent_correlation", "reconstruction_error", "mig", "dci"} <= set(metrics)
