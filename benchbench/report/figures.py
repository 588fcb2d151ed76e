"""A report's figures (PNG and PDF, byte-identical from one report to the next): score-against-
error trade-off curves with a paper's points, signed attribute bars, correlation heatmaps,
labelled latent traversals, training curves of every logged term, and an overview of every
headline metric per method.  Which a report shows, with which paper's numbers, is its study's."""

from __future__ import annotations

import contextlib
import textwrap
from contextvars import ContextVar
from pathlib import Path

import matplotlib
import matplotlib.text
import matplotlib.transforms

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402
from matplotlib.ticker import EngFormatter, FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from benchbench.core.arch import decoder_mean  # noqa: E402
from benchbench.plugin.metric import shown_output  # noqa: E402
from benchbench.report.parts import beta_sweep, dip_name, heading, method_title, slug, title_of  # noqa: E402
from benchbench.storage.store import CellStore  # noqa: E402

#: No timestamps or versions in the files, so two reports of a run are byte-identical.
PNG_METADATA = {"Software": None}
DPI = 120  # the PNGs' resolution: traversal tiles are drawn at their native pixels at this dpi
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
MATH = {"λ_od": r"$\lambda_{od}$", "λ_d": r"$\lambda_{d}$", "β": r"$\beta$"}


def mathtext(text: str) -> str:
    """Greek letters and subscripts as matplotlib mathtext (no literal underscores)."""
    for plain, math in MATH.items():
        text = text.replace(plain, math)
    return text


#: The line every figure of the report being written carries under it: how its run departs from
#: the paper's protocol ("" for none), so an exported figure says so wherever it is pasted.
FOOTNOTE: ContextVar[str] = ContextVar("footnote", default="")


@contextlib.contextmanager
def footnote(text: str):
    """Put ``text`` under every figure saved inside the block."""
    token = FOOTNOTE.set(text)
    try:
        yield
    finally:
        FOOTNOTE.reset(token)


def save(fig, out: Path, name: str) -> str:
    """Write ``name``.png and .pdf under ``out/figures`` (with the :data:`FOOTNOTE`, if any);
    return the PNG's path relative to ``out``."""
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    if FOOTNOTE.get():
        width = max(40, int(fig.get_figwidth() * 14))
        below = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()  # under a legend too
        text = textwrap.fill(FOOTNOTE.get(), width)
        fig.text(0.5, below - 0.01, text, ha="center", va="top", fontsize=6, color="0.3")
    fig.savefig(folder / f"{name}.png", dpi=DPI, bbox_inches="tight", metadata=PNG_METADATA)
    fig.savefig(folder / f"{name}.pdf", bbox_inches="tight", metadata=PDF_METADATA)
    plt.close(fig)
    return f"figures/{name}.png"


#: Offsets (points) tried for a label, nearest first; beyond the first ring a line joins label and point.
RING = ((5, 4), (5, -11), (-5, 4), (-5, -11), (8, -3), (-8, -3))
OFFSETS = [(dx * r, dy * r) for r in (1, 2, 3.2) for dx, dy in RING]


def place_labels(ax, points: list[tuple[float, float]], texts: list[str]) -> list:
    """Annotate each point at the first offset where its label overlaps no label placed before
    it, no marker and stays inside the axes; the nearest offset when none is free."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = []
    for x, y in points:  # every marker is an obstacle
        cx, cy = ax.transData.transform((x, y))
        taken.append(matplotlib.transforms.Bbox.from_extents(cx - 4, cy - 4, cx + 4, cy + 4))
    placed = []
    for (x, y), text in zip(points, texts):
        for dx, dy in [*OFFSETS, OFFSETS[0]]:
            far = abs(dx) > 8 or abs(dy) > 11
            label = ax.annotate(
                text,
                (x, y),
                textcoords="offset points",
                xytext=(dx, dy),
                fontsize=8,
                ha="left" if dx >= 0 else "right",
                arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.6} if far else None,
            )
            label.update_positions(renderer)
            box = matplotlib.text.Text.get_window_extent(label, renderer).expanded(1.05, 1.1)  # text, not its line
            inside = ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                break
            label.remove()
        else:
            label = ax.annotate(text, (x, y), textcoords="offset points", xytext=OFFSETS[0], fontsize=8)
            box = label.get_window_extent(renderer)
        taken.append(box)
        placed.append(label)
    return placed


def spans_decades(values) -> bool:
    values = np.asarray([v for v in values if np.isfinite(v) and v > 0])
    return values.size > 1 and values.max() / values.min() >= 10


def tradeoff_series(rows: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(name, hyperparameter, rows) per series, named as papers name them ("DIP-VAE-I"): the β
    sweep (the VAE as β = 1 where the grid has no β-VAE at β = 1) and each DIP-VAE variant's λ_od
    sweep."""
    betas = beta_sweep(rows)
    series = [("β-VAE", "hp.beta", betas)] if not betas.empty and "hp.beta" in betas else []
    dips = rows[rows["method"] == "dip_vae"]
    if "hp.lambda_od" in dips:
        series += [
            (dip_name(group.iloc[0].drop("hp.lambda_od")), "hp.lambda_od", group)
            for _, group in dips.groupby("variant")
        ]
    return series


def tradeoff(
    agg: pd.DataFrame,
    dataset: str,
    out: Path,
    score: str,
    error: str,
    published: list[tuple[float, float, str]],
    published_label: str,
    axes: tuple[str, str],
    name: str,
    logx: bool | None = None,
) -> str | None:
    """``score`` against ``error`` per series, ± std bars, every point labelled in words with its
    β or λ_od ("λ_od = 10"); ``published`` points ``(error, score, label)`` as hollow markers
    (``published_label`` in the legend), ``axes`` its x and y labels; log x when the errors span a
    decade or more (``logx`` forces it on or off)."""
    needed = {f"{score}.mean", f"{error}.mean"}
    rows = agg[agg["dataset"] == dataset]
    if rows.empty or not needed <= set(rows.columns) or rows[list(needed)].isna().all().any():
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    points, texts = [], []
    for (legend, hp, series), marker in zip(tradeoff_series(rows), "osD^v<>ph"):
        series = series.sort_values(hp)
        x, y = series[f"{error}.mean"], series[f"{score}.mean"]
        ax.errorbar(
            x,
            y,
            xerr=series[f"{error}.std"].fillna(0),
            yerr=series[f"{score}.std"].fillna(0),
            marker=marker,
            capsize=3,
            label=mathtext(legend),
        )
        points += list(zip(x, y))
        symbol = "β" if hp == "hp.beta" else "λ_od"
        texts += [mathtext(f"{symbol} = {v:g}") for v in series[hp]]
    if published:
        for recon, metric, label in published:
            ax.plot(recon, metric, marker="o", markersize=9, markerfacecolor="none", color="black", linestyle="none")
            points.append((recon, metric))
            texts.append(mathtext(label))
        ax.plot([], [], marker="o", markerfacecolor="none", color="black", linestyle="none", label=published_label)
    if logx if logx is not None else spans_decades([p[0] for p in points]):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # 0.002, 0.005, 0.01: never crowded
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(title_of(dataset))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    place_labels(ax, points, texts)
    return save(fig, out, name)


def load_artifact(run_path: Path, cell: str, keys: dict[str, str], name: str) -> np.ndarray | None:
    """Array ``metric.array`` of the evaluation ``keys`` picks for that metric, if there is one."""
    metric, _, array = name.partition(".")
    return CellStore(run_path / "cells" / cell).artifact(metric, keys[metric], array) if metric in keys else None


def correlation_arrays(run_path, cells, keys) -> dict:
    """``{label: (latent × latent, latent × factor, factor names)}`` of the cells that have them."""
    found = {}
    for label, cell in cells.items():
        zz, zf = (
            load_artifact(run_path, cell, keys, f"latent_correlation.{k}") for k in ("latent_latent", "latent_factor")
        )
        names = load_artifact(run_path, cell, keys, "latent_correlation.factor_names")
        if zz is not None and zf is not None:
            names = [str(n) for n in names] if names is not None else [f"factor {j}" for j in range(zf.shape[1])]
            found[label] = (zz, zf, names)
    return found


def correlation_tables(found: dict, dataset: str, out: Path) -> list[str]:
    """Tables 3–4 as numbers: a CSV per method and matrix (latent × latent, factor × latent)."""
    csvs = []
    folder = out / "correlations"
    for label, (zz, zf, names) in found.items():
        latents = [f"z{i}" for i in range(zz.shape[0])]
        for kind, frame in (
            ("latent_latent", pd.DataFrame(zz, latents, latents)),
            ("factor_latent", pd.DataFrame(zf.T, names, latents)),
        ):
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{dataset}_{slug(label)}_{kind}.csv"
            frame.to_csv(path)
            csvs.append(str(path.relative_to(out)))
    return csvs


def correlations(found: dict, dataset: str, out: Path) -> list[str]:
    """Tables 3–4 as heatmaps — latent × latent (one figure), factor × latent (another, sized so
    every factor's name is readable) — a column per method."""
    if not found:
        return []
    images = []
    d = max(zz.shape[0] for zz, _, _ in found.values())
    n = max(len(names) for _, _, names in found.values())
    large = d > 12 or n > 12  # CelebA: one method per row, so every label stays readable
    for kind, height in (("latent", 0.28 * d + 1.2), ("factor", 0.24 * n + 1.2)):
        rows, cols = (len(found), 1) if large else (1, len(found))
        names_width = 1.8 if kind == "factor" else 0.0  # the factor names, left of the first column
        width = max(3.2, 0.28 * d + 1.6) * cols + names_width
        fig, axes = plt.subplots(rows, cols, figsize=(width, max(3.0, height) * rows), squeeze=False)
        for i, (label, (zz, zf, names)) in enumerate(found.items()):
            ax = axes.flat[i]
            matrix, labels = (zz, [f"z{j}" for j in range(zz.shape[0])]) if kind == "latent" else (zf.T, names)
            sns.heatmap(
                matrix,
                ax=ax,
                vmin=-1,
                vmax=1,
                cmap="RdBu_r",
                square=kind == "latent",
                cbar=large or i == len(found) - 1,
                xticklabels=[f"z{j}" for j in range(matrix.shape[1])],
                yticklabels=[t.replace("_", " ") for t in labels] if large or i == 0 else False,
            )
            ax.tick_params(labelsize=8)
            ax.set_title(mathtext(label), fontsize=9)
            ax.set_xlabel("latent")
            if large or i == 0:
                ax.set_ylabel("latent" if kind == "latent" else "factor / attribute")
        fig.tight_layout()
        images.append(save(fig, out, f"correlations_{kind}_{dataset}"))
    return images


def attribute_latents(
    run_path: Path,
    cells: dict[str, str],
    keys: dict[str, str],
    dataset: str,
    out: Path,
    attributes: tuple[str, ...],
    name: str,
) -> str | None:
    """For each attribute, the latent most correlated with it; bars are that latent's signed
    correlation with the attribute itself (dark, marked) and with its four most correlated other
    attributes."""
    found = correlation_arrays(run_path, cells, keys)
    data = {}
    for label, (_, zf, names) in found.items():
        others = load_artifact(run_path, cells[label], keys, "latent_correlation.top_others")
        if others is not None:
            data[label] = (zf, names, others)
    if not data:
        return None
    names = next(iter(data.values()))[1]
    chosen = [a for a in attributes if a in names] or names[:2]
    fig, axes = plt.subplots(len(chosen), len(data), figsize=(3.8 * len(data), 2.4 * len(chosen)), squeeze=False)
    for col, (label, (zf, names, others)) in enumerate(data.items()):
        for row, attribute in enumerate(chosen):
            a = names.index(attribute)
            latent = int(np.argmax(np.abs(zf[:, a])))
            shown = [a, *others[a]]
            values = zf[latent, shown]
            ax = axes[row, col]
            colors = ["tab:red", *["tab:blue"] * (len(shown) - 1)]
            ax.barh([names[j].replace("_", " ") for j in shown][::-1], values[::-1], color=colors[::-1])
            ax.axvline(0, color="black", linewidth=0.6)
            ax.set_xlim(-1, 1)
            ax.set_xticks([-1, -0.5, 0, 0.5, 1])
            ax.tick_params(labelsize=7)
            ax.set_title(mathtext(f"{label}\n{attribute.replace('_', ' ')} → z{latent}"), fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("correlation with the latent", fontsize=8)
    fig.tight_layout()
    return save(fig, out, name)


#: Below this mean KL (nats) a latent counts as inactive: its posterior is the prior, and its row
#: of a traversal shows nothing (the threshold UDR and disentanglement_lib use).
ACTIVE_KL = 0.01


def tile_grid(tiles: np.ndarray, gap: int) -> np.ndarray:
    """``tiles`` (rows, cols, C, H, W) as one image (rows·H, cols·W, C) with ``gap`` white pixels
    between neighbouring tiles, so dark images never merge into one block."""
    rows, cols, c, h, w = tiles.shape
    grid = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap, c))
    for r in range(rows):
        for k in range(cols):
            grid[r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = tiles[r, k].transpose(1, 2, 0)
    return grid


@torch.no_grad()
def traversal(net, batch: torch.Tensor, latent_dim: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """One model's traversal tiles (latents sorted by KL, most informative first; the first test image
    and its reconstruction on the first row; each row then that latent set to −3 … 3 from the image's μ) and
    the sorted latents' (index, mean KL) over ``batch``."""
    mus, logvars = net.encode(batch)
    kl = (0.5 * (mus**2 + logvars.exp() - logvars - 1)).mean(0).numpy()
    order = np.argsort(-kl, kind="stable")
    z = mus[0].repeat(latent_dim * steps, 1)
    for row, j in enumerate(order):
        z[row * steps : (row + 1) * steps, j] = torch.linspace(-3, 3, steps)
    frames = decoder_mean(net.decode(z)).numpy()
    c, h, w = frames.shape[1:]
    head = np.stack([batch[0].numpy(), decoder_mean(net.decode(mus[:1])).numpy()[0]])
    tiles = np.concatenate([np.ones((latent_dim, 2, c, h, w)), frames.reshape(latent_dim, steps, c, h, w)], 1)
    tiles[0, :2] = head  # the image and its reconstruction once, on the first row
    return tiles, np.stack([order, kl[order]], 1)


def traversals(
    run_path: Path, cells: dict[str, str], dataset_obj, dataset: str, out: Path, steps: int = 7, kl_images: int = 256
) -> str | None:
    """Per method, a traversal (:func:`traversal`) with every tile at its native size and a white
    gutter between tiles; each row labelled with its latent and mean KL over the first
    ``kl_images`` test images, inactive latents (KL < :data:`ACTIVE_KL`) marked so in grey."""
    test = dataset_obj.test_indices
    rng = np.random.default_rng(0)  # a stochastic dataset's nuisance: the same in every report
    batch = torch.as_tensor(dataset_obj.observations(test[: min(kl_images, len(test))], rng))
    grids = {}
    for label, cell in cells.items():
        store = CellStore(run_path / "cells" / cell)
        if store.model_path.exists():
            net = store.load_net(dataset_obj.image_shape)
            grids[label] = traversal(net, batch, store.cell().latent_dim, steps)
    if not grids:
        return None
    h, w = dataset_obj.image_shape[-2:]
    gap = max(2, w // 16)
    images = {label: tile_grid(tiles, gap) for label, (tiles, _) in grids.items()}
    width = max(g.shape[1] for g in images.values()) / DPI + 1.3  # + the row labels
    height = max(g.shape[0] for g in images.values()) / DPI + 0.6
    fig, axes = plt.subplots(1, len(grids), figsize=(width * len(grids), height), squeeze=False)
    for ax, (label, (_, latents)), image in zip(axes[0], grids.items(), images.values()):
        ax.imshow(
            image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set_yticks(
            [(r + 0.5) * (h + gap) for r in range(len(latents))],
            [f"z{j:.0f}  KL {k:.2f}" + ("  inactive" if k < ACTIVE_KL else "") for j, k in latents],
            fontsize=7,
        )
        for tick, (_, k) in zip(ax.get_yticklabels(), latents):
            tick.set_color("0.6" if k < ACTIVE_KL else "0")
        ax.set_xticks(
            [(k + 0.5) * (w + gap) for k in (0, 1, 2, steps + 1)], ["$x$", r"$\hat{x}$", "−3", "+3"], fontsize=8
        )
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title(mathtext(label), fontsize=8)
    fig.tight_layout()
    return save(fig, out, f"traversals_{dataset}")


def training_curves(run_path: Path, cells: dict[str, str], dataset: str, out: Path) -> str | None:
    """Every logged term (reconstruction, KL, the total loss, each method's own terms) against
    the step, one line per method; steps in k / M so tick labels never run together."""
    logs = {}
    for label, cell in cells.items():
        path = run_path / "cells" / cell / "train_log.csv"
        if path.exists():
            logs[label] = pd.read_csv(path)
    if not logs:
        return None
    terms = list(dict.fromkeys(c for log in logs.values() for c in log.columns if c != "step"))
    cols = min(3, len(terms))
    rows = -(-len(terms) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, term in zip(axes.flat, terms):
        for i, (label, log) in enumerate(logs.items()):
            if term in log:
                ax.plot(log["step"], log[term], label=mathtext(label), color=f"C{i}")  # one colour per model
        ax.set_title(term.replace("_", " "))
        ax.set_xlabel("step")
        ax.set_ylabel(f"{term.replace('_', ' ')} per image (batch mean)")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.xaxis.set_major_locator(MaxNLocator(5))
        values = pd.concat([log[term] for log in logs.values() if term in log])
        ax.set_yscale("log" if (values > 0).all() and spans_decades(values) else "linear")
    for ax in axes.flat[len(terms) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, out, f"curves_{dataset}")


def along_training(models: pd.DataFrame, outputs: list[str], dataset: str, out: Path, higher: dict) -> str:
    """Per output (titled in words, ↑/↓, accuracies in %), one line per configuration through its
    mean over seeds at each kept step, every model a point; log steps when they span decades."""
    cols = min(3, len(outputs))
    rows = -(-len(outputs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.2 * rows), squeeze=False)
    for ax, output in zip(axes.flat, outputs):
        scale = shown_output(output).to_percent or 1
        for i, (label, group) in enumerate(models.groupby("label", sort=True)):
            means = group.groupby("step")[output].mean() * scale
            ax.plot(means.index, means.to_numpy(), marker="o", color=f"C{i}", label=mathtext(label))
            ax.scatter(group["step"], group[output] * scale, s=8, color=f"C{i}", alpha=0.4)
        ax.set_title(heading(output, higher.get(output)), fontsize=9)
        ax.set_xlabel("step")
        if spans_decades(models["step"]):
            ax.set_xscale("log")
        ax.set_xticks(sorted(set(models["step"])))  # the kept steps, and no others
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.xaxis.set_minor_formatter(NullFormatter())
    for ax in axes.flat[len(outputs) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{title_of(dataset)}: metrics along training")
    fig.tight_layout()
    return save(fig, out, f"along_training_{dataset}")


def overview(
    table: pd.DataFrame, outputs: list[str], dataset: str, out: Path, higher: dict, name: str = "", title: str = ""
) -> str | None:
    """disentanglement_lib's overview: per headline output (titled in words, ↑/↓ by ``higher``,
    accuracies in %), a violin of every trained model of each method variant (all hyperparameters
    and seeds) with the models as points (jittered sideways by a fixed random stream); saved as
    ``name`` (``overview_<dataset>``) under ``title`` (the dataset's)."""
    rows = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    outputs = [o for o in outputs if o in rows and rows[o].notna().any()]
    if rows.empty or not outputs:
        return None
    order = sorted(set(rows["variant"]))
    cols = min(4, len(outputs))
    grid_rows = -(-len(outputs) // cols)
    fig, axes = plt.subplots(
        grid_rows, cols, figsize=(max(3.2, 0.9 * len(order) + 1.2) * cols, 3.2 * grid_rows), squeeze=False
    )
    for ax, output in zip(axes.flat, outputs):
        data = rows[["variant", output]].dropna()
        data[output] *= shown_output(output).to_percent or 1
        sns.violinplot(
            data=data, x="variant", y=output, order=order, ax=ax, inner=None, cut=0, color="0.9", density_norm="width"
        )
        jitter = np.random.default_rng(0)  # fixed, so the figure is the same every report
        for i, variant in enumerate(order):
            values = data.loc[data["variant"] == variant, output].to_numpy()
            ax.scatter(i + jitter.uniform(-0.15, 0.15, values.size), values, s=14, color="tab:blue", zorder=3)
        ax.set_title(heading(output, higher.get(output)), fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_xticks(range(len(order)), [mathtext(o) for o in order], rotation=30, ha="right", fontsize=7)
    for ax in axes.flat[len(outputs) :]:
        ax.axis("off")
    fig.suptitle(title or title_of(dataset))
    fig.tight_layout()
    return save(fig, out, name or f"overview_{dataset}")


def words_of(label) -> str:
    """A ``metric.output`` label in words; any other label (a method) as it is."""
    return shown_output(label).words if isinstance(label, str) and "." in label else str(label)


def heatmap(matrix: pd.DataFrame, title: str, legend: str, colours: str, low: float, out: Path, name: str) -> str:
    """A matrix as coloured squares from ``low`` to 1 with each value written in its square; rows
    and columns that are ``metric.output`` names in words."""
    rows, cols = matrix.shape
    fig, ax = plt.subplots(figsize=(3.6 + 0.6 * cols, 2.4 + 0.5 * rows))  # room for labels in words
    shown = ax.imshow(matrix.to_numpy(dtype=float), cmap=colours, vmin=low, vmax=1)
    ax.set_xticks(range(cols), [words_of(c) for c in matrix.columns], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(rows), [words_of(i) for i in matrix.index], fontsize=7)
    for (i, j), value in np.ndenumerate(matrix.to_numpy(dtype=float)):
        if np.isfinite(value):
            r, g, b, _ = shown.cmap(shown.norm(value))
            colour = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"  # readable on its square
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(shown, ax=ax, label=legend, shrink=0.8)
    fig.suptitle(title, fontsize=10)  # over the whole figure: clear of the colour bar's label
    fig.tight_layout()
    return save(fig, out, name)


def agreement(matrix: pd.DataFrame, dataset: str, out: Path) -> str | None:
    """The metrics' Spearman rank correlations over the models of a dataset (the study's figure
    of metric agreement)."""
    if matrix.shape[0] < 2:
        return None
    title = f"{title_of(dataset)}: do the metrics rank the models alike?"
    return heatmap(matrix, title, "Spearman ρ over the models", "RdBu_r", -1, out, f"agreement_{dataset}")


def variance(shares: pd.DataFrame, dataset: str, out: Path) -> str | None:
    """Per output (rows) and method (columns), the share of the models' variance that lies
    between hyperparameter settings (the rest is between seeds)."""
    matrix = shares.pivot(index="output", columns="method", values="between") if not shares.empty else shares
    if matrix.empty or matrix.notna().sum().sum() == 0:
        return None
    matrix = matrix.rename(columns=method_title)
    title = f"{title_of(dataset)}: variance between hyperparameters (1) or between seeds (0)"
    return heatmap(matrix, title, "share between hyperparameter settings", "viridis", 0, out, f"variance_{dataset}")


def lines(
    models: pd.DataFrame,
    x: str,
    by: str,
    panels: dict[str, str],
    title: str,
    axes: tuple[str, str],
    out: Path,
    name: str,
) -> str | None:
    """One panel per ``panels`` entry (column → panel title): per ``by`` group (a method, say), a
    line through the mean over seeds of that column against ``x`` and every model as a point;
    ``axes``: the x and y labels.  ``None`` where no panel has two values of ``x`` with values."""
    shown = [c for c in panels if c in models and models[[x, c]].dropna()[x].nunique() >= 2]
    if not shown:
        return None
    fig, grid = plt.subplots(1, len(shown), figsize=(4.4 * len(shown), 3.4), squeeze=False)
    for ax, column in zip(grid.flat, shown):
        for i, (group, rows) in enumerate(models.groupby(by, sort=True)):
            rows = rows[[x, column]].dropna()
            if rows[x].nunique() < 2:
                continue
            means = rows.groupby(x)[column].mean()
            label = mathtext(method_title(str(group)))
            ax.plot(means.index, means.to_numpy(), marker="o", color=f"C{i}", label=label)
            ax.scatter(rows[x], rows[column], s=8, color=f"C{i}", alpha=0.4)
        ax.set_title(panels[column], fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(axes[0])
        ax.set_ylabel(axes[1])
    grid.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, out, name)
