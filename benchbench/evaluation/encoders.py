"""Encoders benchbench did not train: loaded, checked, and the built-in baselines.

An encoder is anything that maps a float tensor of images in [0, 1], ``(n, C, H, W)``, to codes
``(n, d)`` (a tensor or an array): a function, an object with ``encode``, a TorchScript file or
an exported program (``torch.export``, ``.pt2``).  If ``encode`` returns ``(μ, log σ²)`` the
sampled representation applies; if the object also has ``decode(z) → images in [0, 1]``, so does
the reconstruction error.  :class:`ForeignNet` gives it the shape of a trained network, so
metrics see it through :class:`~benchbench.plugin.representation.ModelView` as they see a model trained
here.  What names one is an :class:`~benchbench.core.records.EncoderSource`, parsed once where it is
given; :func:`representation_of` turns a source (or an object given in Python) into the
:class:`~benchbench.plugin.representation.Representation` metrics score.

The baselines need no training, and are scored beside learned models to show what "no learning"
and "perfect" score on each metric:

* ``pca`` / ``ica``: scikit-learn's ``PCA`` / ``FastICA`` (unit-variance whitening) with
  ``latent_dim`` components, fitted on :data:`FIT_IMAGES` training images drawn with the seed;
  codes are their ``transform``, ``(x − mean) Wᵀ``, computed on the device.
* ``random``: the conv encoder (and decoder) at its seeded initialisation, never trained.
* ``factors``: the ground-truth factor values (a labelled dataset's labels) as the codes, the
  ceiling.  They are known by dataset index, so a metric that encodes images it makes (a
  dataset's nuisance drawn per observation) does not apply, nor do the sampled representation
  and the reconstruction error.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import types
from pathlib import Path

import numpy as np
import torch

from benchbench.core.arch import build_net, decoder_mean
from benchbench.core.records import EncoderSource, ScoredEncoder
from benchbench.core.registry import BenchbenchError, datasets, import_source, one_line
from benchbench.plugin.data import Dataset, LabelledDataset, classes_from_values
from benchbench.plugin.metric import MetricNotApplicable
from benchbench.plugin.representation import ModelView, Representation, label_names, labels_at


def _as_tensor(value, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value).to(device)


class ForeignNet(torch.nn.Module):
    """An encoder trained elsewhere, shaped as :class:`~benchbench.plugin.representation.ModelView`
    expects a network: ``encode(x) → (μ, log σ²)`` (zeros when it gives none: ``has_posterior``
    says which) and ``decode_mean(z)``.  Which of the object's callables do that is decided here,
    once; :func:`check_encoder` fills in ``latent_dim`` and ``has_posterior``."""

    def __init__(self, encoder, label: str):
        super().__init__()
        self.encoder = encoder  # a torch module among them moves with .to(device)
        self.label = label
        self.latent_dim = 0
        self.has_posterior = False
        self.call = encoder.encode if callable(getattr(encoder, "encode", None)) else encoder
        self.decoder = getattr(encoder, "decode", None)

    def train(self, mode: bool = True) -> ForeignNet:
        """Set the encoder's mode where it has one: an exported program (``.pt2``) keeps the
        mode it was traced in, and refuses to be told."""
        self.training = mode
        if isinstance(self.encoder, torch.nn.Module):
            try:
                self.encoder.train(mode)
            except NotImplementedError:
                pass
        return self

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.call(x)
        mu, logvar = out if isinstance(out, tuple) else (out, None)
        mu = _as_tensor(mu, x.device).float()
        return mu, torch.zeros_like(mu) if logvar is None else _as_tensor(logvar, x.device).float()

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        if self.decoder is None:
            raise MetricNotApplicable(f"{self.label} has no decoder (decode(z) -> images)")
        return _as_tensor(self.decoder(z), z.device).float()


def load_encoder(source: EncoderSource):
    """The encoder ``source`` names: a file's or module's object (a callable or an object with
    ``encode``), a TorchScript file, or a ``torch.export`` program (``.pt2``)."""
    if source.kind in ("file", "module"):
        module = import_source(source.where, "encoder")
        if not hasattr(module, source.name):
            close = difflib.get_close_matches(source.name, _candidates(module), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else f" (it defines {_defined(module)})"
            raise BenchbenchError(f"encoder {source.text}: {source.where} has no {source.name!r}{hint}")
        encoder = getattr(module, source.name)
        if isinstance(encoder, type):
            raise BenchbenchError(f"encoder {source.text}: {source.name} is a class; give an instance or a function")
        if not callable(encoder) and not callable(getattr(encoder, "encode", None)):
            raise BenchbenchError(f"encoder {source.text}: {source.name} is neither callable nor has encode()")
        return encoder
    if source.where.endswith(".py") and Path(source.where).is_file():
        shown = os.path.relpath(source.where) if source.where.startswith(os.getcwd()) else source.where
        module = import_source(source.where, "encoder")
        raise BenchbenchError(f"give the object: {shown}:NAME (it defines {_defined(module)})")
    if not Path(source.where).is_file():
        raise BenchbenchError(
            f"encoder file not found: {source.where} (give FILE.py:NAME, MODULE:NAME or a TorchScript file)"
        )
    exported = source.kind == "exported"
    try:
        return (
            torch.export.load(source.where).module() if exported else torch.jit.load(source.where, map_location="cpu")
        )
    except Exception as exc:
        kind = "an exported program" if exported else "TorchScript"
        raise BenchbenchError(f"encoder {source.where} does not load as {kind}: {one_line(exc)}") from None


def _candidates(module) -> list[str]:
    """The public objects of ``module`` that could be an encoder: its own functions, and
    instances that are callable or have ``encode`` (not classes, modules or imports)."""
    found = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, type | types.ModuleType):
            continue
        named = hasattr(value, "__qualname__")  # a function (an instance has no name of its own)
        own = not named or getattr(value, "__module__", None) == module.__name__
        if own and (callable(value) or callable(getattr(value, "encode", None))):
            found.append(name)
    return found


def _defined(module) -> str:
    return ", ".join(_candidates(module)) or "no function or object with encode()"


def check_encoder(net: ForeignNet, dataset: Dataset) -> None:
    """Run the encoder on two of the dataset's images and refuse, in one line, what no metric
    could use: an error, codes not ``(2, d)`` floats, or codes that are not finite."""
    rng = np.random.default_rng(0)
    images = dataset.observations(np.arange(2), rng) if dataset.stochastic else dataset.images_at(np.arange(2))
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    try:
        out = net.call(x)
    except Exception as exc:
        raise BenchbenchError(f"{net.label} raised on a batch of 2 images {tuple(x.shape)}: {one_line(exc)}") from None
    parts = out if isinstance(out, tuple) else (out,)
    for what, part in zip(("codes", "log-variances"), parts):
        array = part.detach().cpu().numpy() if isinstance(part, torch.Tensor) else np.asarray(part)
        if array.ndim != 2 or array.shape[0] != 2:
            raise BenchbenchError(f"{net.label} must return {what} of shape (n, d); got {array.shape} for n = 2")
        if not np.issubdtype(array.dtype, np.floating):
            raise BenchbenchError(f"{net.label} must return float {what}; got {array.dtype}")
        if not np.isfinite(array).all():
            raise BenchbenchError(f"{net.label} returned {what} that are not finite (NaN or inf)")
    net.latent_dim = parts[0].shape[1]
    net.has_posterior = isinstance(out, tuple)


BASELINES = ("pca", "ica", "random", "factors")
FIT_IMAGES = 10_000  # training images PCA and ICA are fitted on


class Affine(torch.nn.Module):
    """``(x − mean) Wᵀ`` on flattened images: a fitted PCA's or FastICA's ``transform``."""

    def __init__(self, mean: np.ndarray, components: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("components", torch.as_tensor(components, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.mean) @ self.components.T


class Untrained(torch.nn.Module):
    """The conv VAE at its initialisation: posterior and decoder, as a trained one has."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def encode(self, x):
        return self.net.encode(x)

    def decode(self, z):
        return decoder_mean(self.net.decode(z))


class CodeTable(Representation):
    """Codes computed without an encoder at hand (a code matrix, or the ``factors`` baseline):
    the code of each dataset image, by index, and nothing else."""

    codes_by_index = True

    def __init__(self, codes: np.ndarray, label: str):
        self.codes = codes
        self.label = label
        self.latent_dim = codes.shape[1]

    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        return np.take(self.codes, indices, axis=0)  # the rows ``codes[indices]``, gathered 4× faster


def factor_codes(dataset: Dataset) -> CodeTable:
    """The ``factors`` baseline: every image's factor values (a labelled dataset's labels) as its code."""
    if dataset.stochastic:
        raise BenchbenchError("baseline:factors: this dataset draws a nuisance per observation; no codes by index")
    return CodeTable(labels_at(dataset, np.arange(len(dataset))).astype(np.float32), "baseline:factors")


CODE_MEMBERS = ("codes", "indices", "factors", "factor_names")


class Observed(LabelledDataset):
    """The observations a code matrix was computed on, as a dataset: their factor values as its
    labels, no images.  Metrics that need only observed samples run on it; those that draw
    observations of their own do not (:attr:`~benchbench.plugin.data.Dataset.observed_only`)."""

    observed_only = True

    def __init__(self, name: str, label_names: tuple[str, ...], labels: np.ndarray):
        self.name = name
        self.label_names = label_names
        self.labels = labels

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        raise MetricNotApplicable(f"{self.name} is codes of given observations, without their images")

    def image_store(self, device: torch.device):
        return self.images_at(np.arange(0))


def _members(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise BenchbenchError(f"codes file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            members = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise BenchbenchError(f"codes {path} does not load as .npz: {one_line(exc)}") from None
    unknown = sorted(set(members) - set(CODE_MEMBERS))
    if "codes" not in members or unknown:
        got = ", ".join(members) or "none"
        raise BenchbenchError(f"codes {path}: members must be {', '.join(CODE_MEMBERS)} (codes required), got {got}")
    return members


def _checked(path: Path, what: str, array: np.ndarray, rows: int, kind: str) -> np.ndarray:
    """``array`` refused in one line unless it is 2-D (1-D for indices) with ``rows`` rows of ``kind``."""
    ndim = 1 if what == "indices" else 2
    if 0 in array.shape:
        raise BenchbenchError(f"codes {path}: {what} are empty (shape {array.shape})")
    if array.ndim != ndim or array.shape[0] != rows:
        shape = "(n,)" if ndim == 1 else "(n, d)"
        raise BenchbenchError(f"codes {path}: {what} must have shape {shape} with n = {rows}; got {array.shape}")
    if not np.issubdtype(array.dtype, {"float": np.floating, "int": np.integer, "number": np.number}[kind]):
        raise BenchbenchError(f"codes {path}: {what} must be {kind}s; got {array.dtype}")
    if kind != "int" and not np.isfinite(array).all():
        raise BenchbenchError(f"codes {path}: {what} are not all finite (NaN or inf)")
    return array


def load_codes(path: str | Path, dataset: str | Dataset | None, label: str) -> tuple[CodeTable, Dataset]:
    """A code matrix (``.npz``) and the dataset it scores on.  Its ``codes`` ``(n, d)`` are:

    * one per image of ``dataset``, in index order: every metric that asks for dataset images
      by index applies, exactly as to an encoder;
    * with ``indices``, those images' codes: the dataset is those observations (:class:`Observed`);
    * with ``factors`` ``(n, K)`` (and optionally ``factor_names``), codes of observations of a
      dataset benchbench does not know, named ``dataset`` (default: the file's name)."""
    path = Path(path)
    members = _members(path)
    codes = _checked(path, "codes", members["codes"], len(members["codes"]), "float").astype(np.float32)
    n = len(codes)
    if "factors" in members:
        if not isinstance(dataset, str | None) or dataset in datasets:
            known = dataset if isinstance(dataset, str) else dataset.name
            raise BenchbenchError(f"codes {path} bring their own factors: name their dataset other than {known}")
        factors = _checked(path, "factors", members["factors"], n, "number")
        names = [str(x) for x in members.get("factor_names", [f"factor_{j}" for j in range(factors.shape[1])])]
        if len(names) != factors.shape[1]:
            raise BenchbenchError(f"codes {path}: {len(names)} factor_names for {factors.shape[1]} factors")
        return CodeTable(codes, label), Observed(dataset or path.stem, tuple(names), classes_from_values(factors)[0])
    if dataset is None:
        raise BenchbenchError(f"codes {path} have no factors: give the dataset they encode, or a factors member")
    base = datasets.get(dataset)() if isinstance(dataset, str) else dataset
    dataset = base.name
    if base.stochastic:
        raise BenchbenchError(f"{dataset} draws a nuisance per observation: codes by index cannot say which it was")
    if "indices" not in members:
        if n != len(base):
            raise BenchbenchError(
                f"codes {path}: {n} codes for the {len(base)} images of {dataset}; give one per image, or their indices"
            )
        return CodeTable(codes, label), base
    indices = _checked(path, "indices", members["indices"], n, "int").astype(np.int64)
    if indices.min(initial=0) < 0 or indices.max(initial=0) >= len(base) or np.unique(indices).size != n:
        raise BenchbenchError(f"codes {path}: indices must be distinct images of {dataset}, 0 to {len(base) - 1}")
    return CodeTable(codes, label), Observed(dataset or path.stem, label_names(base), labels_at(base, indices))


def fitting_images(dataset: Dataset, seed: int) -> np.ndarray:
    """:data:`FIT_IMAGES` training images (all, if fewer), flattened: ``(n, pixels)``."""
    rng = np.random.default_rng(seed)
    train = dataset.train_indices
    chosen = np.sort(rng.choice(train, min(FIT_IMAGES, train.size), replace=False))
    images = dataset.observations(chosen, rng) if dataset.stochastic else dataset.images_at(chosen)
    return np.asarray(images, dtype=np.float32).reshape(chosen.size, -1)


def build(name: str, dataset: Dataset, latent_dim: int, seed: int):
    """The baseline ``name`` for ``dataset``: an encoder, or, for ``factors``, the codes metrics see."""
    if name not in BASELINES:
        raise BenchbenchError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    if name == "factors":
        return factor_codes(dataset)
    pixels = int(np.prod(dataset.image_shape))
    most = pixels if name == "random" else min(pixels, FIT_IMAGES, dataset.train_indices.size)
    if not 1 <= latent_dim <= most:
        what = f"the values of one {dataset.name} image" if most == pixels else "the images it is fitted on"
        raise BenchbenchError(f"baseline:{name} takes --latent-dim 1 to {most:,} ({what}); got {latent_dim:,}")
    if name == "random":
        with torch.random.fork_rng(devices=[]):  # seeded, leaving the caller's stream alone
            torch.manual_seed(seed)
            return Untrained(build_net("conv", dataset.image_shape, latent_dim))
    from sklearn.decomposition import PCA, FastICA

    x = fitting_images(dataset, seed)
    if name == "pca":
        fitted = PCA(n_components=latent_dim, random_state=seed).fit(x)
    else:
        fitted = FastICA(n_components=latent_dim, whiten="unit-variance", random_state=seed, max_iter=1000).fit(x)
    return Affine(fitted.mean_, fitted.components_)


def identity(
    source: EncoderSource, latent_dim: int, model: Representation | None = None, data: Dataset | None = None
) -> str:
    """What ``source`` is, hashed: a file's bytes (and the name taken from it), a code matrix's
    file, or a baseline's name and size — and, for a file's or module's object (``model``, loaded
    from it, on ``data``), what it computes: so a wrapper whose weights file changed is a new
    encoder (:func:`computes`)."""
    if source.kind == "baseline":
        content = f"{source.text}|{latent_dim}".encode()  # its seed is the cell's
    elif source.kind in ("file", "module"):
        if model is None or data is None:
            raise BenchbenchError(f"{source.text}: what it is needs the encoder loaded, and the dataset")
        path = (
            Path(source.where)
            if source.kind == "file"
            else Path(getattr(import_source(source.where, "encoder"), "__file__", ""))
        )
        content = (path.read_bytes() if path.is_file() else source.where.encode()) + b"\0" + source.name.encode()
        content += b"\0" + computes(model, data).encode()
    else:
        content = Path(source.where).read_bytes()  # TorchScript and exported programs hold their weights
    return hashlib.sha256(content).hexdigest()


PROBE_IMAGES = 16  # the dataset's first images, whose codes say what a function encoder computes


def computes(model: Representation, data: Dataset) -> str:
    """A hash of what an encoder object computes: its parameters and buffers where it is a
    torch module, else its codes (to 6 significant digits, so a thread count's rounding is the
    same encoder) on the dataset's first :data:`PROBE_IMAGES` images."""
    encoder = getattr(getattr(model, "net", None), "encoder", None)
    digest = hashlib.sha256()
    if isinstance(encoder, torch.nn.Module):
        for name, tensor in sorted(encoder.state_dict().items()):
            digest.update(name.encode() + b"\0" + tensor.detach().cpu().contiguous().numpy().tobytes())
        return "module:" + digest.hexdigest()
    indices = np.arange(min(PROBE_IMAGES, len(data)))
    rng = np.random.default_rng(0)
    images = data.observations(indices, rng) if data.stochastic else data.images_at(indices)
    codes = np.asarray(model.encode(np.asarray(images, dtype=np.float32)), dtype=np.float64)
    digest.update(np.array2string(codes, precision=6, floatmode="maxprec", threshold=codes.size + 1).encode())
    return "codes:" + digest.hexdigest()


def representation_of(
    encoder: EncoderSource | object,
    dataset: str | Dataset | None,
    label: str,
    latent_dim: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> tuple[Representation, Dataset]:
    """``(what metrics score, the dataset they score it on)`` for ``encoder``: a source, or an
    object given in Python (a function or an object with ``encode``).  An encoder is checked on
    two images and seen through :class:`~benchbench.plugin.representation.ModelView` on ``device``; a
    code matrix (:func:`load_codes`) and the ``factors`` baseline are a :class:`CodeTable`."""
    source = encoder if isinstance(encoder, EncoderSource) else None
    if source is not None and source.kind == "codes":
        return load_codes(source.where, dataset, label)
    if dataset is None:
        raise BenchbenchError(f"{label}: give the dataset to score it on")
    data = datasets.get(dataset)() if isinstance(dataset, str) else dataset
    if source is not None and source.kind == "baseline":
        encoder = build(source.where, data, latent_dim, seed)
        if isinstance(encoder, CodeTable):
            return encoder, data
    elif source is not None:
        encoder = load_encoder(source)
    net = ForeignNet(encoder, label)
    check_encoder(net, data)
    return ModelView(net, device, label=label), data


BASELINE_WORDS = {
    "pca": "PCA fitted on {fit_images:,} training images",
    "ica": "FastICA fitted on {fit_images:,} training images",
    "random": "the conv net at its seeded initialisation, never trained",
    "factors": "the ground-truth factors as codes (the ceiling)",
}


def scored_record(source: EncoderSource, label: str, latent_dim: int, seed: int, digest: str) -> ScoredEncoder:
    """What a run keeps of a scored encoder (its cell's ``encoder.json``), with its hash (:func:`identity`)."""
    fitted = source.kind == "baseline" and source.where in ("pca", "ica")
    return ScoredEncoder(source, label, latent_dim, seed, digest, FIT_IMAGES if fitted else None)


def described(record: ScoredEncoder) -> str:
    """A scored encoder in words, for a report: what it is and its code size."""
    source = record.source
    if source.kind == "baseline":
        words = BASELINE_WORDS[source.where].format(fit_images=record.fit_images or FIT_IMAGES)
    elif source.kind == "codes":
        words = f"codes from {Path(source.where).name}"
    else:
        words = f"encoder {Path(source.text).name}"
    return f"{words}, {record.latent_dim} codes"


def scored_representation(
    record: ScoredEncoder, dataset: str | Dataset, device: torch.device
) -> tuple[Representation, Dataset]:
    """:func:`representation_of` a run's scored encoder, refused in one line if what it is (its
    file, or what it computes) changed since it was scored."""
    found = representation_of(record.source, dataset, record.label, record.latent_dim, record.seed, device)
    if identity(record.source, record.latent_dim, *found) != record.sha256:
        raise BenchbenchError(f"{record.source.text} changed since it was scored: it is a new encoder, score it again")
    return found
