"""The seed's claims (Kumar et al. 2018) as statements a run can test, each with the run's
evidence and a verdict: supported, not supported, or not testable with this run (and why).

A claim is *supported* only where the run's means go the claimed way and an exact permutation
test says so at :data:`SIGNIFICANCE`; *not testable* where the run lacks the configurations, or
has so few seeds that no outcome could reach that level; otherwise *not supported* — which is
what a short run honestly shows."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from benchbench.plugin.metric import shown_output
from benchbench.report.analysis import smallest_p, superiority, trend
from benchbench.report.tables import HIGGINS, RECON, Row, Selection, beta_sweep, cells_of, is_paper_dip, table1_rows

SIGNIFICANCE = 0.05
#: "At similar or lower reconstruction error": a mean error at most this much above the other's.
SIMILAR = 0.10
CORRELATION = "latent_correlation.mean_abs_offdiag"
SUPPORTED, NOT_SUPPORTED, NOT_TESTABLE = "supported", "not supported", "not testable with this run"


@dataclass
class Claim:
    dataset: str
    claim: str
    source: str
    verdict: str
    evidence: str


def _rows(agg: pd.DataFrame, dataset: str, selection: Selection) -> tuple[Row | None, list[Row]]:
    """Table 1's DIP-VAE row (the paper's variant where the run has it) and its VAE and β-VAE rows."""
    rows = table1_rows(agg, dataset, selection)[0]
    dips = [r for r in rows if r.data["method"] == "dip_vae"]
    dip = next((r for r in dips if is_paper_dip(r.data, selection)), dips[0] if dips else None)
    return dip, [r for r in rows if r.data["method"] in ("vae", "beta_vae")]


def _mean(table: pd.DataFrame, row: Row, output: str) -> pd.Series:
    cells = cells_of(table, row.data)
    return cells[output].dropna() if output in cells else pd.Series(dtype=float)


def _versus(table, dip: Row | None, others: list[Row], output: str, higher: bool, recon: bool) -> tuple[str, str]:
    """The verdict and evidence of "DIP-VAE's ``output`` is better than each other row's" (and,
    with ``recon``, at a mean reconstruction error within :data:`SIMILAR` of theirs or lower)."""
    words = shown_output(output).words
    if dip is None or not others:
        missing = "DIP-VAE" if dip is None else "VAE or β-VAE"
        return NOT_TESTABLE, f"the run has no finished {missing} configuration of Table 1"
    parts, holds, ps, floors = [], [], [], []
    for other in others:
        a, b = _mean(table, dip, output), _mean(table, other, output)
        if a.empty or b.empty:
            return NOT_TESTABLE, f"no {words} for {(dip if a.empty else other).label}"
        p_better, p = superiority(a, b, higher)
        better = a.mean() > b.mean() if higher else a.mean() < b.mean()
        sizes = f"n = {len(a)} and {len(b)}, P(better) = {p_better:.2f}, p = {p:.2g}"
        text = f"{a.mean():.4g} vs {other.label} {b.mean():.4g} ({sizes})"
        if recon:
            ea, eb = _mean(table, dip, RECON).mean(), _mean(table, other, RECON).mean()
            similar = bool(ea <= eb * (1 + SIMILAR))
            better = better and similar
            text += f", error {ea:.4g} vs {eb:.4g}{'' if similar else ' (higher by more than 10 %)'}"
        parts.append(text)
        holds.append(better)
        ps.append(p)
        floors.append(smallest_p(len(a), len(b)))
    evidence = f"{dip.label}'s {words}: " + "; ".join(parts)
    return _verdict(all(holds), max(ps), max(floors), evidence)


def _verdict(holds: bool, p: float, floor: float, evidence: str) -> tuple[str, str]:
    if not holds:
        return NOT_SUPPORTED, evidence
    if not floor <= SIGNIFICANCE:
        return NOT_TESTABLE, (
            f"{evidence}. The means go the claimed way, but with these seeds no outcome could reach "
            f"p < {SIGNIFICANCE:g} (the smallest possible p is {floor:.2g})"
        )
    if p < SIGNIFICANCE:
        return SUPPORTED, evidence
    return NOT_SUPPORTED, f"{evidence}. The means go the claimed way, not distinguishably (p ≥ {SIGNIFICANCE:g})"


def _error_rises(table: pd.DataFrame, dataset: str) -> tuple[str, str]:
    """Whether β-VAE's reconstruction error rises with β (the VAE as β = 1): Spearman's ρ over
    every trained model, one-sided permutation p."""
    models = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    sweep = beta_sweep(models)
    sweep = sweep[["hp.beta", RECON]].dropna() if RECON in sweep and "hp.beta" in sweep else pd.DataFrame()
    if sweep.empty or sweep["hp.beta"].nunique() < 2:
        return NOT_TESTABLE, "fewer than two values of β (the VAE counting as β = 1) with a reconstruction error"
    means = sweep.groupby("hp.beta")[RECON].agg(["mean", "size"])
    rho, p, floor = trend(sweep["hp.beta"], sweep[RECON])
    evidence = "mean error " + ", ".join(f"β = {b:g}: {m:.4g} (n = {n:.0f})" for b, (m, n) in means.iterrows())
    evidence += f"; Spearman ρ = {rho:.2f} over {len(sweep)} models, one-sided permutation p = {p:.2g}"
    return _verdict(bool(np.isfinite(rho) and rho > 0), p, floor, evidence)


def check_claims(table: pd.DataFrame, agg: pd.DataFrame, selection: Selection) -> list[Claim]:
    """Every claim for every dataset of the run that the claim concerns."""
    claims = []
    for dataset in sorted(set(agg["dataset"])):
        dip, others = _rows(agg, dataset, selection)
        if HIGGINS in table and table.loc[table["dataset"] == dataset, HIGGINS].notna().any():
            claims.append(
                Claim(
                    dataset,
                    "DIP-VAE scores a higher disentanglement metric than the VAE and each β-VAE, at a "
                    "similar or lower reconstruction error",
                    "Table 1, Figure 1",
                    *_versus(table, dip, others, HIGGINS, True, True),
                )
            )
        claims.append(
            Claim(
                dataset, "β-VAE's reconstruction error rises with β", "Table 1, Figure 1", *_error_rises(table, dataset)
            )
        )
        claims.append(
            Claim(
                dataset,
                "DIP-VAE's latents are less correlated with each other (mean |off-diagonal correlation|) "
                "than the VAE's and each β-VAE's",
                "Tables 3–4",
                *(
                    _versus(table, dip, others, CORRELATION, False, False)
                    if CORRELATION in table
                    else (NOT_TESTABLE, "the run has no latent_correlation evaluation")
                ),
            )
        )
    return claims


def claims_frame(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) for c in claims], columns=list(Claim.__dataclass_fields__))
