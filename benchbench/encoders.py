"""Encoders benchbench did not train: loaded, checked, and the built-in baselines.

An encoder is anything that maps a float tensor of images in [0, 1], ``(n, C, H, W)``, to codes
``(n, d)`` (a tensor or an array): a function, an object with ``encode``, a TorchScript file or
an exported program (``torch.export``, ``.pt2``).  If ``encode`` returns ``(μ, log σ²)`` the
sampled representation applies; if the object also has ``decode(z) → images in [0, 1]``, so does
the reconstruction error.  :class:`ForeignNet` gives it the shape of a trained network, so
metrics see it through :class:`~benchbench.evaluate.ModelView` as they see a model trained here.

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

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from benchbench.arch import build_net, decoder_mean
from benchbench.data import Dataset
from benchbench.metric import MetricNotApplicable
from benchbench.registry import BenchbenchError, import_source, one_line
from benchbench.representation import labels_at


def _as_tensor(value, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value).to(device)


class ForeignNet(torch.nn.Module):
    """An encoder trained elsewhere, shaped as :class:`~benchbench.evaluate.ModelView` expects a
    network: ``encode(x) → (μ, log σ²)`` (zeros when it gives none: ``has_posterior`` says which)
    and ``decode_mean(z)``.  :func:`check_encoder` fills in ``latent_dim`` and ``has_posterior``."""

    def __init__(self, encoder, label: str):
        super().__init__()
        self.encoder = encoder  # a torch module among them moves with .to(device)
        self.label = label
        self.latent_dim = 0
        self.has_posterior = False

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = getattr(self.encoder, "encode", self.encoder)(x)
        mu, logvar = out if isinstance(out, tuple) else (out, None)
        mu = _as_tensor(mu, x.device).float()
        return mu, torch.zeros_like(mu) if logvar is None else _as_tensor(logvar, x.device).float()

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        decode = getattr(self.encoder, "decode", None)
        if decode is None:
            raise MetricNotApplicable(f"{self.label} has no decoder (decode(z) -> images)")
        return _as_tensor(decode(z), z.device).float()


def split_spec(spec: str) -> tuple[str, str] | None:
    """``(source, name)`` of ``FILE.py:NAME`` or ``MODULE:NAME``; ``None`` for a file."""
    source, colon, name = spec.rpartition(":")
    return (source, name) if colon and source and name.isidentifier() else None


def load_encoder(spec: str):
    """The encoder ``spec`` names: ``FILE.py:NAME`` or ``MODULE:NAME`` (a callable or an object
    with ``encode``), a TorchScript file, or a ``torch.export`` program (``.pt2``)."""
    named = split_spec(spec)
    if named:
        source, name = named
        module = import_source(source, "encoder")
        if not hasattr(module, name):
            raise BenchbenchError(f"encoder {spec}: {source} has no {name!r}")
        encoder = getattr(module, name)
        if isinstance(encoder, type):
            raise BenchbenchError(f"encoder {spec}: {name} is a class; give an instance or a function")
        if not callable(encoder) and not callable(getattr(encoder, "encode", None)):
            raise BenchbenchError(f"encoder {spec}: {name} is neither callable nor has encode()")
        return encoder
    if not Path(spec).is_file():
        raise BenchbenchError(f"encoder file not found: {spec} (give FILE.py:NAME, MODULE:NAME or a TorchScript file)")
    exported = spec.endswith(".pt2")  # torch.export's format; any other file is TorchScript's
    try:
        return torch.export.load(spec).module() if exported else torch.jit.load(spec, map_location="cpu")
    except Exception as exc:
        kind = "an exported program" if exported else "TorchScript"
        raise BenchbenchError(f"encoder {spec} does not load as {kind}: {one_line(exc)}") from None


def check_encoder(net: ForeignNet, dataset: Dataset) -> None:
    """Run the encoder on two of the dataset's images and refuse, in one line, what no metric
    could use: an error, codes not ``(2, d)`` floats, or codes that are not finite."""
    rng = np.random.default_rng(0)
    images = dataset.observations(np.arange(2), rng) if dataset.stochastic else dataset.images_at(np.arange(2))
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    try:
        out = getattr(net.encoder, "encode", net.encoder)(x)
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


#: The ``arch`` of a cell that is an encoder benchbench did not train; its folder's
#: ``encoder.json`` says which, so a run can open it again.
SCORED = "scored"
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


class FactorCodes:
    """What a metric sees of the ``factors`` baseline: codes by dataset index only."""

    device = "cpu"

    def __init__(self, dataset: Dataset):
        if dataset.stochastic:
            raise BenchbenchError("baseline:factors: this dataset draws a nuisance per observation; no codes by index")
        self.dataset = dataset
        self.latent_dim = len(labels_at(dataset, np.zeros(1, dtype=np.int64))[0])

    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        return labels_at(dataset, indices).astype(np.float32)

    def encode(self, images):
        raise MetricNotApplicable("baseline:factors knows the factors of dataset images by index, not of new images")

    reconstruct = encode

    def sampled(self, rng):
        raise MetricNotApplicable("baseline:factors has no posterior to sample")


def fitting_images(dataset: Dataset, seed: int) -> np.ndarray:
    """:data:`FIT_IMAGES` training images (all, if fewer), flattened: ``(n, pixels)``."""
    rng = np.random.default_rng(seed)
    train = dataset.train_indices
    chosen = np.sort(rng.choice(train, min(FIT_IMAGES, train.size), replace=False))
    images = dataset.observations(chosen, rng) if dataset.stochastic else dataset.images_at(chosen)
    return np.asarray(images, dtype=np.float32).reshape(chosen.size, -1)


def build(name: str, dataset: Dataset, latent_dim: int, seed: int):
    """The baseline ``name`` for ``dataset``: an encoder for :mod:`benchbench.scoring`, or, for
    ``factors``, the view metrics see."""
    if name not in BASELINES:
        raise BenchbenchError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    if name == "factors":
        return FactorCodes(dataset)
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


def identity(encoder: str, latent_dim: int, seed: int) -> str:
    """What the encoder ``encoder`` names is, hashed: its file's bytes (and the name taken from
    it), or a baseline's name, size and seed — so a changed file is a new encoder."""
    if encoder.startswith("baseline:"):
        content = f"{encoder}|{latent_dim}|{seed}".encode()
    else:
        source, colon, name = encoder.rpartition(":")
        if colon and source and name.isidentifier():
            path = (
                Path(source)
                if source.endswith(".py")
                else Path(getattr(import_source(source, "encoder"), "__file__", ""))
            )
            content = (path.read_bytes() if path.is_file() else source.encode()) + b"\0" + name.encode()
        else:
            content = Path(encoder).read_bytes()
    return hashlib.sha256(content).hexdigest()


def open_encoder(encoder, dataset: Dataset, label: str, latent_dim: int, seed: int):
    """``encoder`` (an object, a spec for :func:`load_encoder`, or ``baseline:NAME``) ready for
    metrics: a checked :class:`ForeignNet`, or the ``factors`` baseline's own view."""
    if isinstance(encoder, str) and encoder.startswith("baseline:"):
        encoder = build(encoder.removeprefix("baseline:"), dataset, latent_dim, seed)
        if isinstance(encoder, FactorCodes):
            return encoder
    net = ForeignNet(load_encoder(encoder) if isinstance(encoder, str) else encoder, label)
    check_encoder(net, dataset)
    return net


def reopen(folder: Path, dataset: Dataset):
    """The scored encoder of a cell folder (see :data:`SCORED`), refused in one line if its file
    changed since it was scored."""
    facts = json.loads((folder / "encoder.json").read_text())
    if identity(facts["encoder"], facts["latent_dim"], facts["seed"]) != facts["sha256"]:
        raise BenchbenchError(f"{facts['encoder']} changed since it was scored: it is a new encoder, score it again")
    return open_encoder(facts["encoder"], dataset, facts["label"], facts["latent_dim"], facts["seed"])
