"""A bundle's model card (``README.md``): what was trained, how, on what, its headline metrics and
the software that made it, and how to check and use the files — for a reader without benchbench."""

from __future__ import annotations

from typing import Any

from benchbench.core.records import Manifest

#: Training config fields shown as columns; others a model departs from its first values in go under "settings".
_COLUMNS = ("dataset", "method", "seed", "arch", "latent_dim", "steps", "batch_size", "lr")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in sorted(value.items())) or "—"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _models(cells: dict[str, dict[str, Any]]) -> list[str]:
    header = ["model (cell id)", *_COLUMNS, "hyperparameters", "other settings", "trained in"]
    rows = []
    for cell_id, entry in cells.items():
        config, training = entry["config"], entry["training"]
        others = {k: v for k, v in config.items() if k not in (*_COLUMNS, "hyperparameters")}
        seconds = training.get("train_seconds")
        rows.append(
            [f"`{cell_id}`", *(config.get(c, "—") for c in _COLUMNS), config.get("hyperparameters", {}), others]
            + [f"{seconds:.0f} s" if isinstance(seconds, (int, float)) else "—"]
        )
    return _table(header, rows)


def _metrics(cells: dict[str, dict[str, Any]]) -> list[str]:
    """An output per row, a model per column (bundles hold few models, metrics many outputs)."""
    outputs = sorted({f"{m}.{o}" for e in cells.values() for m, values in e["headline"].items() for o in values})
    if not outputs:
        return ["No evaluation of the run's grid is in this bundle."]
    found = {c: {f"{m}.{o}": v for m, vs in e["headline"].items() for o, v in vs.items()} for c, e in cells.items()}
    rows = [[o, *(found[c].get(o, "—") for c in cells)] for o in outputs]
    return _table(["output", *(f"`{c}`" for c in cells)], rows)


def model_card(listing: dict[str, Any], manifest: Manifest, protocol: str) -> str:
    """The card of a bundle whose listing (without its files) is ``listing``, from the run
    ``manifest``; ``protocol``: how the run departs from its study's protocol ("": it does not)."""
    cells = listing["cells"]
    grid = manifest.grid or {}
    trained_with = manifest.versions or {}
    software = ", ".join(f"{k} {v}" for k, v in sorted(trained_with.items())) or "not recorded"
    weights = (
        "safetensors, one file per model (`cells/<id>/model.safetensors`; "
        "a kept earlier model's under `snapshots/<step>/`)"
        if listing["weights"] == "safetensors"
        else "not included: this bundle holds the models' records, curves and evaluations only"
    )
    lines = [
        f"# {len(cells)} model{'s' if len(cells) != 1 else ''} of the benchbench run `{listing['run']}`",
        "",
        f"Trained by benchbench from the grid `{grid.get('name', '?')}` ({grid.get('source', 'source not recorded')})"
        + (f" of the study `{manifest.study}`" if manifest.study else "")
        + f"; exported {listing['exported']}. Weights: {weights}.",
        "",
        "## What was trained, and how",
        "",
        *_models(cells),
        "",
        f"Devices: {', '.join(manifest.devices or []) or 'not recorded'}. Software: {software}; "
        f"benchbench commit {manifest.git_commit or 'not recorded'}.",
        "",
        "A model's id is the hash of its training config (`cells/<id>/config.json`): the same config is the "
        "same model wherever it was trained.",
        "",
        "**Protocol.** "
        + (
            protocol
            if protocol
            else f"The study {manifest.study}'s training protocol."
            if manifest.study
            else "Of no study: set these numbers beside a paper's only where its protocol is the same."
        ),
        "",
        "## Headline metrics",
        "",
        "The run's grid's evaluations, each output a row and each model a column (every record, with its "
        "options and arrays, is under `cells/<id>/evaluations/<metric>/<key>/`):",
        "",
        *_metrics(cells),
        "",
        "## Checking and using these files",
        "",
        "- `sha256sum -c SHA256SUMS` checks every file. `bundle.json` lists every other file's size and "
        "SHA-256, so its own SHA-256 is the bundle's hash: one number that pins every byte.",
        "- `benchbench import <this folder, .tar or URL>` checks every file before it keeps anything and adds "
        "the models to a run, where they evaluate, report and compare like models trained there.",
        "- Without benchbench: `safetensors.torch.load_file(path)` gives a model's state dict, of the "
        "encoder–decoder its config's `arch` names (benchbench's `core/arch.py`).",
        "",
    ]
    return "\n".join(lines)
