"""The dataset protocol every metric and the trainer rely on, and on-device image storage.

Modelled on disentanglement_lib's ``GroundTruthData``: a dataset names its factors of
variation and their sizes, samples factor combinations, and renders images for them.
Images are float32 arrays shaped ``(n, C, H, W)`` with values in [0, 1].

For training, a dataset hands the trainer an :class:`ImageStore`: all training images
kept on the device in a compact uint8 form and expanded batch by batch, so sampling never
passes through a per-item Python ``__getitem__``.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import os
import tempfile
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import torch
from tqdm.auto import tqdm

from benchbench.core.registry import BenchbenchError


def data_dir() -> Path:
    """The data root: ``--data-root`` (which sets ``$BENCHBENCH_DATA``), else ``$BENCHBENCH_DATA``,
    else the user cache directory.  Datasets read their files and keep their caches under it."""
    root = os.environ.get("BENCHBENCH_DATA") or platformdirs.user_cache_dir("benchbench")
    return Path(root).expanduser()


class DatasetError(BenchbenchError):
    """A dataset's files are missing or malformed (one line: what, where, where to get them)."""


def require_files(dataset: str, paths: list[Path], source: str) -> None:
    """Raise :class:`DatasetError` naming every missing path and where the files come from."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise DatasetError(
            f"dataset {dataset}: missing {', '.join(missing)}; get the files from {source} "
            f"(see docs/datasets.md), or point --data-root at them"
        )


def fingerprint(paths: list[Path]) -> str:
    """A short hash of the source files' names, sizes and modification times: a cache key that
    changes when the files do."""
    digest = hashlib.sha256()
    for p in sorted(paths):
        stat = p.stat()
        digest.update(f"{p.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


def cached_array(dataset: str, key: str, shape: tuple[int, ...], fill, dtype=np.uint8) -> np.ndarray:
    """A memory-mapped cache array ``<root>/<dataset>/cache/<key>.npy``, built once by
    ``fill(out)`` into a temporary file that is renamed into place when complete."""
    path = data_dir() / dataset / "cache" / f"{key}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        os.close(fd)
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
            fill(out)
            out.flush()
            del out
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return np.load(path, mmap_mode="r")


class ImageStore(abc.ABC):
    """Images on a device in a compact form; :meth:`batch` expands indices to float images."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        """Float32 images ``(B, C, H, W)`` in [0, 1] for a LongTensor of indices on the device."""


class Uint8Images(ImageStore):
    """Images stored as uint8 (0–255) ``(N, C, H, W)``."""

    def __init__(self, array: np.ndarray, device: torch.device):
        self.data = torch.as_tensor(np.require(array, requirements="CW")).to(device)

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        return self.data[indices].float().div_(255.0)


class PackedBinaryImages(ImageStore):
    """Binary images stored as bits along the width (``np.packbits(axis=-1)``), 8× smaller.

    ``packed`` has shape ``(N, H, W // 8)``; images expand to ``(B, 1, H, W)``.
    """

    def __init__(self, packed: np.ndarray, device: torch.device):
        self.data = torch.as_tensor(np.require(packed, requirements="CW")).to(device)
        self._shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=device)

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        rows = self.data[indices]  # (B, H, W/8)
        bits = (rows.unsqueeze(-1) >> self._shifts) & 1  # (B, H, W/8, 8)
        return bits.reshape(rows.shape[0], 1, rows.shape[1], -1).float()


class CachedImages:
    """``images_at`` / ``image_store`` for datasets whose images sit in one cached uint8 array:
    ``(N, C, H, W)`` values 0–255, or binary images bit-packed along the width ``(N, H, W/8)``
    when ``packed_bits`` is set."""

    pixels: np.ndarray
    packed_bits: bool = False

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        raw = self.pixels[np.asarray(indices, dtype=np.int64)]
        if self.packed_bits:
            return np.unpackbits(raw, axis=-1)[:, None].astype(np.float32)
        return raw.astype(np.float32) / 255.0

    def image_store(self, device: torch.device) -> ImageStore:
        """One store per device and dataset object, so the trainer and the evaluator of a pack
        share a single copy of the images."""
        stores = self.__dict__.setdefault("_stores", {})
        key = str(torch.device(device))
        if key not in stores:
            stores[key] = (PackedBinaryImages if self.packed_bits else Uint8Images)(self.pixels, device)
        return stores[key]


class Dataset(abc.ABC):
    """What every dataset offers: images by index, a device store, and a fixed train/test split.

    Subclasses set ``image_shape`` and ``likelihood`` (``"bernoulli"`` for binary images,
    ``"gaussian"`` for colour) and implement ``__len__``, :meth:`images_at` and :meth:`image_store`.
    """

    name: str = ""
    #: How papers name it in tables and figures ("2D Shapes"); reports fall back to ``name``.
    title: str = ""
    description: str = ""
    #: files with a stable public URL that ``--download`` may fetch
    downloads: tuple[Download, ...] = ()
    image_shape: tuple[int, int, int] = (1, 64, 64)
    likelihood: str = "bernoulli"
    test_fraction: float = 0.1
    split_seed: int = 0
    #: What this dataset stands in for when it is not the original data (reports say so).
    stand_in: str = ""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def images_at(self, indices: np.ndarray) -> np.ndarray:
        """Float32 images ``(n, C, H, W)`` in [0, 1] for dataset indices."""

    @abc.abstractmethod
    def image_store(self, device: torch.device) -> ImageStore:
        """All images on ``device`` in compact form, indexed like :meth:`images_at`."""

    #: Whether an observation carries a nuisance drawn afresh each time it is seen (a colour, a
    #: noisy background): then :meth:`observations` and :meth:`observe` draw it from the caller's
    #: random stream, and an image's encoding is never cached by index.
    stochastic: bool = False
    #: Whether the dataset is only a fixed set of observations (those a code matrix was computed
    #: on, without images): a metric that draws observations sharing a factor with others, as
    #: the interventional scores do, does not apply to it.
    observed_only: bool = False

    def observations(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """What a metric sees at ``indices``: :meth:`images_at`, with the nuisance of a
        :attr:`stochastic` dataset drawn from ``rng``."""
        return self.images_at(indices)

    def rows(self, indices: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The :meth:`image_store` rows the trainer gathers for one model's minibatch of
        ``indices``: the same rows, unless a :attr:`stochastic` dataset stores several images of
        one index and draws which (from ``generator``, the model's own stream)."""
        return indices

    def observe(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """What the trainer sees of a minibatch of :meth:`image_store` images (on the device):
        the images, with the nuisance of a :attr:`stochastic` dataset drawn from ``generator``
        (the model's own stream)."""
        return images

    @functools.cached_property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """``(train, test)`` index arrays, each sorted; the same for every run."""
        n = len(self)
        perm = np.random.default_rng(self.split_seed).permutation(n)
        n_test = int(round(n * self.test_fraction))
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])

    @property
    def train_indices(self) -> np.ndarray:
        return self.split[0]

    @property
    def test_indices(self) -> np.ndarray:
        return self.split[1]


class GroundTruthDataset(Dataset):
    """A dataset with known factors of variation (disentanglement_lib's ``GroundTruthData``).

    Subclasses set ``factor_names`` and ``factor_sizes``.  Images are indexed in factor order
    (the last factor varies fastest), so index ↔ factors is a mixed-radix conversion.
    """

    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    #: Factors whose values are unordered categories (a shape, an object), not steps of a quantity:
    #: metrics that fit probes classify these and regress the others.
    categorical_factors: tuple[str, ...] = ()

    @property
    def factor_bases(self) -> np.ndarray:
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor combinations drawn uniformly, shape ``(n, num_factors)``: each uniform draw
        times its factor's size, rounded down.  The products are made in place (metrics draw
        millions) and for many combinations a row: numpy's loop over a row of only K values
        costs twice the multiplication."""
        k, rows = len(self.factor_sizes), 64
        draws = rng.random((n, k))
        bulk = n - n % rows
        wide = draws[:bulk].reshape(-1, rows * k)  # the same products, 64 combinations a row
        np.multiply(wide, np.tile(np.asarray(self.factor_sizes, dtype=np.float64), rows), out=wide)
        np.multiply(draws[bulk:], self.factor_sizes, out=draws[bulk:])
        return draws.astype(np.int64)

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        return np.asarray(factors, dtype=np.int64) @ self.factor_bases

    def index_to_factors(self, index: np.ndarray) -> np.ndarray:
        """The factors ``(..., K)`` of the images at ``index``: a factor at a time, since numpy
        divides fast only by one number (2.5× faster than dividing by the bases at once)."""
        index = np.asarray(index, dtype=np.int64)
        out = np.empty((*index.shape, len(self.factor_sizes)), dtype=np.int64)
        for k, (base, size) in enumerate(zip(self.factor_bases.tolist(), self.factor_sizes)):
            np.remainder(index // base, size, out=out[..., k])
        return out

    def images(self, factors: np.ndarray) -> np.ndarray:
        """Float32 images ``(n, C, H, W)`` in [0, 1] for factor combinations ``(n, K)``."""
        return self.images_at(self.factors_to_index(factors))


class LabelledDataset(Dataset):
    """A dataset with per-image discrete labels instead of generative factors (e.g. CelebA's 40
    binary attributes).  Subclasses set ``label_names`` and ``labels``, an int array
    ``(N, num_labels)`` (binary attributes as 0/1)."""

    label_names: tuple[str, ...] = ()
    labels: np.ndarray
    likelihood: str = "gaussian"

    def __len__(self) -> int:
        return int(self.labels.shape[0])


NPZ_ROWS = 8192  # rows per block read from an .npz member


def npz_chunks(path: Path, key: str, rows: int = NPZ_ROWS):
    """Yield ``(start, block)`` row blocks of array ``key`` in an ``.npz`` file, decompressing
    as it goes, so multi-gigabyte members are converted without being held in memory."""
    with zipfile.ZipFile(path) as archive:
        try:
            member = archive.open(f"{key}.npy")
        except KeyError:
            raise DatasetError(f"{path}: no array {key!r} (has {', '.join(archive.namelist())})") from None
        with member:
            shape, fortran, dtype = _npy_header(member)
            if fortran:
                raise DatasetError(f"{path}: array {key!r} is Fortran-ordered; expected C order")
            row_items = int(np.prod(shape[1:]))
            for start in range(0, shape[0], rows):
                n = min(rows, shape[0] - start)
                data = member.read(n * row_items * dtype.itemsize)
                if len(data) < n * row_items * dtype.itemsize:
                    raise DatasetError(f"{path}: array {key!r} is truncated")
                yield start, np.frombuffer(data, dtype=dtype).reshape((n, *shape[1:]))


def npz_shape(path: Path, key: str) -> tuple[int, ...]:
    """The shape of array ``key`` in an ``.npz`` file, read from its header alone."""
    with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
        return tuple(_npy_header(member)[0])


def _npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    return np.lib.format.read_array_header_2_0(stream)


def classes_from_values(values: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Per-column class indices of real-valued factor labels (rank among the column's distinct
    values), and the number of distinct values per column."""
    columns = [np.unique(values[:, j], return_inverse=True) for j in range(values.shape[1])]
    classes = np.stack([inverse.reshape(-1) for _, inverse in columns], axis=1)
    return classes, tuple(len(unique) for unique, _ in columns)


def nhwc_to_nchw(block: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(block, -1, 1))


def decode_into(out: np.ndarray, paths: list[Path], decode, desc: str, threads: int | None = None) -> None:
    """``out[i] = decode(paths[i])`` for every file, on a thread pool (image decoding releases
    the GIL), with a progress bar.  A missing or unreadable file is a :class:`DatasetError`."""

    def one(i: int) -> None:
        try:
            out[i] = decode(paths[i])
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{desc}: cannot read {paths[i]} ({exc})") from None

    with ThreadPoolExecutor(threads or min(16, (os.cpu_count() or 1) * 2)) as pool:
        for _ in tqdm(pool.map(one, range(len(paths))), total=len(paths), desc=desc, unit="img"):
            pass


@dataclass(frozen=True)
class Download:
    """A dataset file with a stable public URL, its size and SHA-256 (as published in
    TensorFlow Datasets' checksum lists), fetched only when the user asks (``--download``)."""

    url: str
    path: str  # relative to the data root
    size: int
    sha256: str

    def fetch(self, dataset: str) -> Path:
        """Download to ``<data root>/<path>`` unless present; verify size and checksum before the
        file is renamed into place, so a failed or tampered download leaves nothing behind."""
        target = data_dir() / self.path
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".download")
        digest, received = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(self.url, timeout=60) as response:
                with tqdm(total=self.size, unit="B", unit_scale=True, desc=f"download {target.name}") as bar:
                    while block := response.read(1 << 20):
                        fh.write(block)
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
            if received != self.size or digest.hexdigest() != self.sha256:
                raise DatasetError(
                    f"dataset {dataset}: download of {self.url} failed verification "
                    f"({received} bytes, sha256 {digest.hexdigest()[:12]}…; expected {self.size} "
                    f"bytes, {self.sha256[:12]}…)"
                )
            os.replace(tmp, target)
        except OSError as exc:
            raise DatasetError(f"dataset {dataset}: cannot download {self.url} ({exc})") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        return target
