"""The paper's figures (PNG and PDF): Figure 1's trade-off curves, Figure 2's attribute bars,
Tables 3–4's correlation heatmaps, latent traversals and training curves."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from benchbench.arch import decoder_mean  # noqa: E402
from benchbench.report.tables import HIGGINS, RECON  # noqa: E402
from benchbench.store import CellStore  # noqa: E402


def save(fig, out: Path, name: str) -> str:
    """Write ``name``.png and .pdf under ``out/figures``; return the PNG's path relative to ``out``."""
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{name}.png", dpi=120, bbox_inches="tight")
    fig.savefig(folder / f"{name}.pdf", bbox_inches="tight")
    plt.close(fig)
    return f"figures/{name}.png"


def _sweep(ax, rows: pd.DataFrame, hp: str, label: str, marker: str) -> None:
    rows = rows.sort_values(hp)
    ax.errorbar(
        rows[f"{RECON}.mean"],
        rows[f"{HIGGINS}.mean"],
        xerr=rows[f"{RECON}.std"].fillna(0),
        yerr=rows[f"{HIGGINS}.std"].fillna(0),
        marker=marker,
        capsize=3,
        label=label,
    )
    for _, r in rows.iterrows():
        ax.annotate(
            f"{r[hp]:g}",
            (r[f"{RECON}.mean"], r[f"{HIGGINS}.mean"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )


def figure1(agg: pd.DataFrame, dataset: str, out: Path) -> str | None:
    """Higgins score against reconstruction error: the β sweep (VAE = β 1) and the λ_od sweep."""
    needed = {f"{HIGGINS}.mean", f"{RECON}.mean"}
    rows = agg[agg["dataset"] == dataset]
    if rows.empty or not needed <= set(rows.columns):
        return None
    betas = rows[rows["method"].isin(["vae", "beta_vae"])].copy()
    if "hp.beta" not in betas:
        betas["hp.beta"] = np.nan
    betas["hp.beta"] = betas["hp.beta"].fillna(1.0)
    dips = rows[rows["method"] == "dip_vae"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    if not betas.empty:
        _sweep(ax, betas, "hp.beta", "β-VAE (β)", "o")
    if not dips.empty and "hp.lambda_od" in dips:
        _sweep(ax, dips, "hp.lambda_od", "DIP-VAE (λ_od)", "s")
    ax.set_xlabel("reconstruction error (per pixel, test)")
    ax.set_ylabel("disentanglement metric score (%)")
    ax.set_title(dataset)
    ax.legend()
    return save(fig, out, f"figure1_{dataset}")


def load_artifact(run_path: Path, cell: str, keys: dict[str, str], name: str) -> np.ndarray | None:
    """Array ``metric.array`` of the evaluation ``keys`` picks for that metric, if there is one."""
    metric, _, array = name.partition(".")
    return CellStore(run_path / "cells" / cell).artifact(metric, keys[metric], array) if metric in keys else None


def correlations(
    run_path: Path, cells: dict[str, str], keys: dict[str, str], dataset: str, out: Path
) -> tuple[str | None, list[str]]:
    """Tables 3–4 as heatmaps (a row per method: latent × latent, factor × latent) and CSVs."""
    found = {}
    for label, cell in cells.items():
        zz, zf = (
            load_artifact(run_path, cell, keys, f"latent_correlation.{k}") for k in ("latent_latent", "latent_factor")
        )
        names = load_artifact(run_path, cell, keys, "latent_correlation.factor_names")
        if zz is not None and zf is not None:
            names = list(names) if names is not None else [f"factor {j}" for j in range(zf.shape[1])]
            found[label] = (zz, zf, names)
    if not found:
        return None, []
    csvs = []
    folder = out / "correlations"
    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, len(found), figsize=(4.2 * len(found), 8), squeeze=False)
    for col, (label, (zz, zf, names)) in enumerate(found.items()):
        latents = [f"z{i}" for i in range(zz.shape[0])]
        slug = re.sub(r"[^A-Za-z0-9]+", "_", label.replace("β", "beta")).strip("_")
        for kind, frame in (
            ("latent_latent", pd.DataFrame(zz, latents, latents)),
            ("factor_latent", pd.DataFrame(zf.T, names, latents)),
        ):
            path = folder / f"{dataset}_{slug}_{kind}.csv"
            frame.to_csv(path)
            csvs.append(str(path.relative_to(out)))
        sns.heatmap(zz, ax=axes[0, col], vmin=-1, vmax=1, cmap="RdBu_r", square=True, cbar=col == len(found) - 1)
        sns.heatmap(
            zf.T,
            ax=axes[1, col],
            vmin=-1,
            vmax=1,
            cmap="RdBu_r",
            cbar=col == len(found) - 1,
            yticklabels=names if col == 0 and len(names) <= 40 else False,
        )
        axes[0, col].set_title(label)
        axes[1, col].set_xlabel("latent")
    axes[0, 0].set_ylabel("latent")
    axes[1, 0].set_ylabel("factor / attribute")
    return save(fig, out, f"correlations_{dataset}"), csvs


def figure2(
    run_path: Path,
    cells: dict[str, str],
    keys: dict[str, str],
    dataset: str,
    out: Path,
    attributes=("Bangs", "Rosy_Cheeks"),
) -> str | None:
    """For each attribute, the latent most correlated with it and that latent's top other
    attributes (bars of their correlations), per method."""
    data = {}
    for label, cell in cells.items():
        parts = [
            load_artifact(run_path, cell, keys, f"latent_correlation.{k}")
            for k in ("factor_names", "top_others", "top_others_corr")
        ]
        if all(p is not None for p in parts):
            data[label] = parts
    if not data:
        return None
    names = list(next(iter(data.values()))[0])
    chosen = [a for a in attributes if a in names] or names[:2]
    fig, axes = plt.subplots(len(chosen), len(data), figsize=(3.6 * len(data), 2.6 * len(chosen)), squeeze=False)
    for col, (label, (_, others, corr)) in enumerate(data.items()):
        for row, attribute in enumerate(chosen):
            a = names.index(attribute)
            ax = axes[row, col]
            ax.barh([names[j].replace("_", " ") for j in others[a]][::-1], np.abs(corr[a])[::-1], color="tab:blue")
            ax.set_xlim(0, 1)
            ax.set_title(f"{label}: {attribute.replace('_', ' ')}", fontsize=9)
    axes[-1, 0].set_xlabel("|correlation| with the attribute's top latent")
    fig.tight_layout()
    return save(fig, out, f"figure2_{dataset}")


@torch.no_grad()
def traversals(
    run_path: Path, cells: dict[str, str], dataset_obj, dataset: str, out: Path, steps: int = 7
) -> str | None:
    """One test image per method: each latent varied over [-3, 3] in turn (rows), decoder means."""
    grids = {}
    image = torch.as_tensor(dataset_obj.images_at(dataset_obj.test_indices[:1]))
    for label, cell in cells.items():
        store = CellStore(run_path / "cells" / cell)
        if not store.model_path.exists():
            continue
        config = store.cell()
        net = store.load_net(dataset_obj.image_shape)
        mu = net.encode(image)[0][0]
        z = mu.repeat(config.latent_dim * steps, 1)
        values = torch.linspace(-3, 3, steps)
        for j in range(config.latent_dim):
            z[j * steps : (j + 1) * steps, j] = values
        frames = decoder_mean(net.decode(z)).numpy()  # (d·steps, C, H, W)
        c, h, w = frames.shape[1:]
        grid = (
            frames.reshape(config.latent_dim, steps, c, h, w)
            .transpose(0, 3, 1, 4, 2)
            .reshape(config.latent_dim * h, steps * w, c)
        )
        grids[label] = grid
    if not grids:
        return None
    fig, axes = plt.subplots(
        1, len(grids), figsize=(2.6 * len(grids), 0.4 * max(g.shape[0] for g in grids.values()) / 8), squeeze=False
    )
    for ax, (label, grid) in zip(axes[0], grids.items()):
        ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    return save(fig, out, f"traversals_{dataset}")


def training_curves(run_path: Path, cells: dict[str, str], dataset: str, out: Path) -> str | None:
    """Reconstruction, KL and total loss against step, one line per method."""
    logs = {}
    for label, cell in cells.items():
        path = run_path / "cells" / cell / "train_log.csv"
        if path.exists():
            logs[label] = pd.read_csv(path)
    if not logs:
        return None
    terms = ["reconstruction", "kl", "loss"]
    fig, axes = plt.subplots(1, len(terms), figsize=(4 * len(terms), 3.2))
    for ax, term in zip(axes, terms):
        for label, log in logs.items():
            if term in log:
                ax.plot(log["step"], log[term], label=label)
        ax.set_title(term)
        ax.set_xlabel("step")
        positive = all((log[term] > 0).all() for log in logs.values() if term in log)
        ax.set_yscale("log" if positive else "linear")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return save(fig, out, f"curves_{dataset}")
