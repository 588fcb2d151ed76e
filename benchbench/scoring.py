"""Scoring encoders benchbench did not train, with the same metrics as its own models.

An encoder is anything that maps a float tensor of images in [0, 1], ``(n, C, H, W)``, to codes
``(n, d)`` (a tensor or an array): a function, an object with ``encode``, a TorchScript file or
an exported program (``torch.export``, ``.pt2``).
If ``encode`` returns ``(μ, log σ²)`` the sampled representation applies; if the object also has
``decode(z) → images in [0, 1]``, so does the reconstruction error.  :class:`ForeignNet` gives it
the shape of a trained network, so metrics see it through :class:`~benchbench.evaluate.ModelView`
— batched on the chosen device, each dataset image encoded once per scoring — exactly as they
see a model trained here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from benchbench import baselines
from benchbench.data import Dataset
from benchbench.evaluate import ModelView, call_metric, run_metric, split_result
from benchbench.metric import EvalSpec, MetricNotApplicable, check_profile, is_across_seeds, profile_options
from benchbench.registry import BenchbenchError, datasets, import_source, metrics, one_line


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


def load_encoder(spec: str):
    """The encoder ``spec`` names: ``FILE.py:NAME`` or ``MODULE:NAME`` (a callable or an object
    with ``encode``), a TorchScript file, or a ``torch.export`` program (``.pt2``)."""
    source, colon, name = spec.rpartition(":")
    if colon and source and name.isidentifier():
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


def score(
    encoder,
    dataset: str | Dataset,
    metrics: list[str] | None = None,
    profile: str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    device: str = "cpu",
    seed: int = 0,
    label: str | None = None,
    latent_dim: int = 10,
    progress: bool = True,
) -> pd.DataFrame:
    """Score ``encoder`` (an object, a spec for :func:`load_encoder`, or ``baseline:NAME`` with
    ``latent_dim`` codes, see :mod:`benchbench.baselines`) on ``dataset`` (a name or a dataset)
    with ``metrics`` (default: every metric that scores one model) at ``profile``'s sizes with
    ``options`` per metric on top; the metrics' streams come from ``seed`` as a trained cell's
    do (a baseline is fitted or initialised with it).  Returns a row per output (``metric``,
    ``key``, ``status``, ``output``, ``value``, ``error``, the metric's ``seconds``); a metric that does not apply, or
    fails, is a row saying why."""
    label = label or (encoder if isinstance(encoder, str) else getattr(encoder, "__name__", type(encoder).__name__))
    data = datasets.get(dataset)() if isinstance(dataset, str) else dataset
    names = metrics_to_score(metrics)
    check_profile(profile, names)
    specs = [
        EvalSpec.of(n, {**profile_options(n, profile), **(options or {}).get(n, {})}, where=f"option {n}")
        for n in names
    ]
    view = encoder_view(encoder, data, label, torch.device(device), latent_dim, seed)
    rows = []
    for spec in tqdm(specs, desc="metrics", unit="metric", disable=not progress):
        fields, result = run_metric(lambda spec=spec: call_metric(spec, data, view, seed))
        base = {"metric": spec.shown, "key": spec.key, "status": fields["status"], "seconds": fields["seconds"]}
        if result is None:
            rows.append({**base, "output": None, "value": np.nan, "error": fields.get("error")})
            continue
        for output, value in split_result(result)[0].items():
            rows.append({**base, "output": output, "value": value, "error": None})
    return pd.DataFrame(rows, columns=["metric", "key", "status", "output", "value", "error", "seconds"])


def encoder_view(encoder, dataset: Dataset, label: str, device: torch.device, latent_dim: int, seed: int):
    """What metrics see of ``encoder``: a checked :class:`ForeignNet` in a :class:`ModelView`, or
    the ``factors`` baseline's own view."""
    if isinstance(encoder, str) and encoder.startswith("baseline:"):
        encoder = baselines.build(encoder.removeprefix("baseline:"), dataset, latent_dim, seed)
        if isinstance(encoder, baselines.FactorCodes):
            return encoder
    net = ForeignNet(load_encoder(encoder) if isinstance(encoder, str) else encoder, label)
    check_encoder(net, dataset)
    return ModelView(net, device)


def metrics_to_score(names: list[str] | None) -> list[str]:
    """``names`` checked (an unknown one is a one-line error), or every metric that scores one model."""
    for name in names or []:
        metrics.get(name)
        if is_across_seeds(name):
            raise BenchbenchError(f"{name} compares the seeds of a configuration trained here, not one encoder")
    return list(names) if names else [n for n in metrics.names() if not is_across_seeds(n)]
