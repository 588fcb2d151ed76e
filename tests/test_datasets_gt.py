"""Ground-truth datasets read from tiny files written in each dataset's real on-disk format."""

import h5py
import numpy as np
import pytest
from run_helpers import write_grid

from benchbench.cli import cli
from benchbench.core.registry import datasets
from benchbench.plugin.data import DatasetError


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHBENCH_DATA", str(tmp_path))
    return tmp_path


# ------------------------------------------------------------------ dSprites
SUBSET = [np.arange(3), np.array([0, 5]), np.array([0, 10]), np.array([0, 31]), np.array([0, 31])]


def write_dsprites(root, shapes, fmt="npz"):
    """A small official-format file: every combination of a factor subset, index order, with
    shapes2d's images for those factors."""
    sizes = [len(v) for v in SUBSET]
    classes = np.stack(np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij"), -1).reshape(-1, 5)
    shapes2d_factors = np.stack([SUBSET[j][classes[:, j]] for j in range(5)], axis=1)
    imgs = shapes.images(shapes2d_factors)[:, 0].astype(np.uint8)
    latents = np.c_[np.zeros(len(classes), np.int64), classes]
    folder = root / "dsprites"
    folder.mkdir()
    stem = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64"
    if fmt == "npz":
        np.savez_compressed(
            folder / f"{stem}.npz", imgs=imgs, latents_classes=latents, latents_values=latents.astype(float)
        )
    else:
        with h5py.File(folder / f"{stem}.hdf5", "w") as f:
            f["imgs"] = imgs
            f["latents/classes"] = latents
            f["latents/values"] = latents.astype(float)
    return shapes2d_factors


@pytest.mark.parametrize("fmt", ["npz", "hdf5"])
def test_dsprites_and_shapes2d_agree_on_factor_order(root, shapes, fmt):
    mapped = write_dsprites(root, shapes, fmt)
    ds = datasets.get("dsprites")()
    assert ds.factor_sizes == (3, 2, 2, 2, 2) and len(ds) == 48
    f = ds.index_to_factors(np.arange(48))
    np.testing.assert_array_equal(ds.images(f), shapes.images(mapped))
    assert ds.images_at(np.array([7])).dtype == np.float32 and ds.image_shape == (1, 64, 64)
    cache = ds.pixels.filename
    assert datasets.get("dsprites")().pixels.filename == cache  # reused, not rebuilt


def test_dsprites_errors_are_one_line(root, shapes, cli_runner):
    with pytest.raises(
        DatasetError,
        match=r"dataset dsprites: missing .*dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz; "
        r"get the files from https://github.com/google-deepmind/dsprites-dataset",
    ):
        datasets.get("dsprites")()
    write_dsprites(root, shapes)
    path = root / "dsprites" / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    data = dict(np.load(path))
    data["latents_classes"] = data["latents_classes"][::-1]
    np.savez(path, **data)
    with pytest.raises(DatasetError, match="not every factor combination in index order"):
        datasets.get("dsprites")()
    data["latents_classes"] = data["latents_classes"][:, :4]
    np.savez(path, **data)
    with pytest.raises(DatasetError, match=r"latents_classes has shape \(48, 4\), expected \(N, 6\)"):
        datasets.get("dsprites")()


# ------------------------------------------------------------------ 3D Shapes
def write_shapes3d(root, sizes=(2, 1, 3, 2, 1, 2)):
    values = [np.linspace(0, 1, n) if n > 1 else np.zeros(1) for n in sizes]
    labels = np.stack(np.meshgrid(*values, indexing="ij"), -1).reshape(-1, 6)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(labels), 64, 64, 3), dtype=np.uint8)
    (root / "3dshapes").mkdir()
    with h5py.File(root / "3dshapes" / "3dshapes.h5", "w") as f:
        f["images"], f["labels"] = images, labels
    return images, labels


def test_shapes3d_reads_the_h5(root):
    images, labels = write_shapes3d(root)
    ds = datasets.get("shapes3d")()
    assert ds.factor_sizes == (2, 1, 3, 2, 1, 2) and len(ds) == 24 and ds.likelihood == "gaussian"
    got = ds.images(np.array([[1, 0, 2, 0, 0, 1]]))
    index = ((1 * 1 + 0) * 3 + 2) * 2 * 1 * 2 + 1  # mixed radix, orientation fastest
    np.testing.assert_allclose(got[0], images[index].transpose(2, 0, 1) / 255.0, atol=1e-7)
    assert got.shape == (1, 3, 64, 64) and got.dtype == np.float32


def test_shapes3d_errors(root):
    with pytest.raises(DatasetError, match=r"dataset shapes3d: missing .*3dshapes/3dshapes.h5; get the files from"):
        datasets.get("shapes3d")()
    images, labels = write_shapes3d(root)
    with h5py.File(root / "3dshapes" / "3dshapes.h5", "w") as f:
        f["images"], f["labels"] = images[:, :32], labels
    with pytest.raises(DatasetError, match=r"images \(24, 32, 64, 3\) / labels \(24, 6\), expected"):
        datasets.get("shapes3d")()


# ------------------------------------------------------------------ MPI3D
def test_mpi3d_reads_the_npz(root, monkeypatch):
    import benchbench.datasets.mpi3d as mpi3d

    monkeypatch.setitem(mpi3d.LAYOUTS, 24, (2, 1, 1, 3, 1, 2, 2))  # a tiny layout with the real format
    images = np.random.default_rng(1).integers(0, 256, (24, 64, 64, 3), dtype=np.uint8)
    (root / "mpi3d").mkdir()
    np.savez_compressed(root / "mpi3d" / "mpi3d_toy.npz", images=images)
    ds = datasets.get("mpi3d_toy")()
    assert len(ds) == 24 and len(ds.factor_names) == 7
    np.testing.assert_allclose(ds.images_at(np.array([13]))[0], images[13].transpose(2, 0, 1) / 255.0, atol=1e-7)
    with pytest.raises(DatasetError, match=r"dataset mpi3d_real: missing .*mpi3d/mpi3d_real.npz"):
        datasets.get("mpi3d_real")()
    np.savez_compressed(root / "mpi3d" / "mpi3d_realistic.npz", images=images[:20])
    with pytest.raises(DatasetError, match=r"images \(20, 64, 64, 3\), expected \(1,036,800 or 460,800"):
        datasets.get("mpi3d_realistic")()


# ------------------------------------------------------------------ small NORB
def write_norb_matrix(path, array):
    magic = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}[array.dtype]
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    path.write_bytes(np.array([magic, array.ndim, *dims], "<i4").tobytes() + array.tobytes())


def write_smallnorb(root):
    """2 categories × 2 instances × 1 elevation × 2 azimuths × 1 lighting, shuffled across the
    training (instance 4) and testing (instance 0) files as in the release."""
    folder = root / "smallnorb"
    folder.mkdir()
    rng = np.random.default_rng(0)
    everything = {}
    for chunk, instance in (("5x46789x9x18x6x2x96x96-training", 4), ("5x01235x9x18x6x2x96x96-testing", 0)):
        rows = [(c, instance, 3, a, 1) for c in (0, 1) for a in (0, 2)][::-1]
        dat = rng.integers(0, 256, (len(rows), 2, 96, 96), dtype=np.uint8)
        write_norb_matrix(folder / f"smallnorb-{chunk}-dat.mat", dat)
        write_norb_matrix(folder / f"smallnorb-{chunk}-cat.mat", np.array([r[0] for r in rows], np.int32))
        write_norb_matrix(folder / f"smallnorb-{chunk}-info.mat", np.array([r[1:] for r in rows], np.int32))
        everything.update({r: dat[i, 0] for i, r in enumerate(rows)})
    return everything


def test_smallnorb_reads_binary_matrices(root):
    from PIL import Image

    originals = write_smallnorb(root)
    ds = datasets.get("smallnorb")()
    assert ds.factor_sizes == (2, 2, 1, 2, 1) and len(ds) == 8
    # category 1, instance 4 (the second instance value), azimuth 2 (the second azimuth value)
    got = ds.images(np.array([[1, 1, 0, 1, 0]]))[0, 0]
    expected = np.asarray(Image.fromarray(originals[1, 4, 3, 2, 1]).resize((64, 64), Image.LANCZOS)) / 255.0
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_smallnorb_errors(root):
    with pytest.raises(DatasetError, match=r"dataset smallnorb: missing .*training-dat.mat, .*cs.nyu.edu"):
        datasets.get("smallnorb")()
    write_smallnorb(root)
    path = root / "smallnorb" / "smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="its header says"):
        datasets.get("smallnorb")()


# ------------------------------------------------------------------ Cars3D
def test_cars3d_reads_mat_files(root):
    import scipy.io
    from PIL import Image

    (root / "cars").mkdir()
    rng = np.random.default_rng(0)
    ims = [rng.integers(0, 256, (128, 128, 3, 24, 4), dtype=np.uint8) for _ in range(2)]
    for i, im in enumerate(ims):
        scipy.io.savemat(root / "cars" / f"car_{i:03d}_mesh.mat", {"im": im})
    ds = datasets.get("cars3d")()
    assert ds.factor_sizes == (4, 24, 2) and len(ds) == 192
    got = ds.images(np.array([[3, 7, 1]]))[0]  # elevation 3, azimuth 7, second car
    expected = np.asarray(Image.fromarray(ims[1][:, :, :, 7, 3]).resize((64, 64), Image.LANCZOS))
    np.testing.assert_allclose(got, expected.transpose(2, 0, 1) / 255.0, atol=1e-7)
    scipy.io.savemat(root / "cars" / "car_002_mesh.mat", {"im": ims[0][:, :, :, :12]})
    with pytest.raises(DatasetError, match=r"'im' has shape \(128, 128, 3, 12, 4\), expected"):
        datasets.get("cars3d")()


def shapes3d_run(tmp_path, *extra):
    """``benchbench run`` arguments for a two-step VAE on shapes3d, results under tmp_path/r."""
    grid = tmp_path / "g.toml"
    write_grid(grid, {"sweep": [{"datasets": ["shapes3d"], "method": "vae"}]})
    return ["run", "--grid", str(grid), "--results", str(tmp_path / "r"), "--device", "cpu", "--steps", "2",
            "--no-progress", *extra]  # fmt: skip


def test_missing_dataset_stops_the_run_before_training(root, tmp_path, cli_runner):
    out = cli_runner.invoke(cli, shapes3d_run(tmp_path))
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "3dshapes/3dshapes.h5" in out.output and not (tmp_path / "r").exists()
    other = tmp_path / "elsewhere"
    write_shapes3d(other.mkdir() or other)
    out = cli_runner.invoke(cli, shapes3d_run(tmp_path, "--data-root", str(other)))
    assert out.exit_code == 0, out.output


def test_download_is_verified_and_only_on_request(root, tmp_path, cli_runner, monkeypatch):
    import hashlib

    from benchbench.datasets.shapes3d import Shapes3D
    from benchbench.plugin.data import Download

    source = tmp_path / "mirror"
    source.mkdir()
    write_shapes3d(source)
    payload = source / "3dshapes" / "3dshapes.h5"
    sha = hashlib.sha256(payload.read_bytes()).hexdigest()
    good = Download(payload.as_uri(), "3dshapes/3dshapes.h5", payload.stat().st_size, sha)
    monkeypatch.setattr(Shapes3D, "downloads", (Download(good.url, good.path, good.size, "0" * 64),))
    bad = cli_runner.invoke(cli, shapes3d_run(tmp_path, "--download"))
    assert bad.exit_code == 2 and "failed verification" in bad.output
    assert not (root / "3dshapes" / "3dshapes.h5").exists() and not list((root / "3dshapes").iterdir())
    monkeypatch.setattr(Shapes3D, "downloads", (good,))
    assert cli_runner.invoke(cli, shapes3d_run(tmp_path)).exit_code == 2  # without --download nothing is fetched
    assert not (root / "3dshapes" / "3dshapes.h5").exists()
    out = cli_runner.invoke(cli, shapes3d_run(tmp_path, "--download"))
    assert out.exit_code == 0, out.output
    assert (root / "3dshapes" / "3dshapes.h5").read_bytes() == payload.read_bytes()
