"""A study of your own in one file: does a larger β buy a higher MIG?  Its grid, one table and
one claim, written against benchbench.api only (docs/studies.md walks through it).

benchbench list studies --plugin examples/my_study.py
benchbench run --grid beta_mig --plugin examples/my_study.py
benchbench report beta_mig --plugin examples/my_study.py
"""

from benchbench.api import NOT_TESTABLE, Claim, Column, Section, Study, Table, studies, title_of, trend, verdict

MIG = "mig.mig"


def beta_mig_grid() -> dict:
    """β-VAE at three values of β on the rendered 2D Shapes, three seeds each, scored by MIG."""
    return {
        "name": "beta_mig",
        "description": "beta-VAE at beta = 1, 4, 16 on shapes2d, scored by MIG",
        "seeds": 3,
        "train": {"arch": "conv", "latent_dim": 6, "steps": 2000, "batch_size": 64, "lr": 5e-4},
        "metrics": {"mig": {"num_train": 5000}},
        "sweep": [{"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": [1, 4, 16]}}],
    }


@studies.register("beta_mig")
class BetaMig(Study):
    title = "Our own question: does a larger β give a higher MIG?"
    description = "β-VAE's β against MIG, one table and one claim"
    grids = {"beta_mig": beta_mig_grid}
    select_by = MIG

    def sections(self, report) -> list[Section]:
        """MIG per β (mean ± std over seeds) per dataset, then what every report shows."""
        rows = report.agg[(report.agg["method"] == "beta_vae") & report.agg[f"{MIG}.mean"].notna()]
        rows = rows.sort_values(["dataset", "hp.beta"])
        section = Section("MIG against β", f"Mean ± std of MIG over n seeds per β. {report.options.protocol}".rstrip())
        if rows.empty:
            section.notes.append("no β-VAE model with a MIG yet")
            return [section, *report.default_sections()]
        table = Table(
            ["Dataset", "β", "n"],
            [
                [title_of(d), f"{b:g}", f"{n:.0f}"]
                for d, b, n in zip(rows["dataset"], rows["hp.beta"], rows[f"{MIG}.n"])
            ],
            [Column("MIG", list(rows[f"{MIG}.mean"]), list(rows[f"{MIG}.std"]), 3, True)],
            list(rows["dataset"]),
        )
        frame = rows[["dataset", "hp.beta", f"{MIG}.mean", f"{MIG}.std", f"{MIG}.n"]]
        report.save_table(section, "mig_by_beta", frame, [table], "mig-by-beta")
        return [section, *report.default_sections()]

    def claims(self, report) -> list[Claim]:
        """MIG rises with β: Spearman's ρ over every trained model, one-sided permutation p."""
        found = []
        for dataset in report.datasets:
            models = report.table[(report.table["dataset"] == dataset) & (report.table["method"] == "beta_vae")]
            models = models[["hp.beta", MIG]].dropna() if MIG in models else models.iloc[:0]
            claim = "MIG rises with β"
            if models.empty or models["hp.beta"].nunique() < 2:
                found.append(Claim(dataset, claim, "our hypothesis", NOT_TESTABLE, "fewer than two values of β"))
                continue
            rho, p, floor = trend(models["hp.beta"], models[MIG])
            evidence = f"Spearman ρ = {rho:.2f} over {len(models)} models, one-sided permutation p = {p:.2g}"
            found.append(Claim(dataset, claim, "our hypothesis", *verdict(bool(rho > 0), p, floor, evidence)))
        return found
