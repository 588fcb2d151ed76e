"""Layout 2 → 3: an evaluation's key leaves out its execution options (``device``).  A layout-2
run — the committed reference as layout 2 wrote it — reads as it is, compares with its converted
self, and ``migrate`` converts it to exactly the committed files."""

import json
import shutil
from pathlib import Path

from benchbench.cli import cli
from benchbench.plugin.metric import EvalSpec

REFERENCE = Path(__file__).parent.parent / "results" / "reference" / "quick"


def as_layout_2(run: Path) -> int:
    """Rewrite a layout-3 run as layout 2 wrote it: each key hashing every option.  Returns how
    many evaluation folders moved."""
    moved = 0
    for path in sorted(run.glob("cells/*/evaluations/*/*/evaluation.json")):
        record = json.loads(path.read_text())
        if record.pop("execution", None) is None:
            continue
        record["key"] = EvalSpec(record["metric"], record["options"]).key  # no execution options: all hashed
        path.write_text(json.dumps(record))
        path.parent.rename(path.parent.parent / record["key"])
        moved += 1
    manifest = json.loads((run / "manifest.json").read_text())
    for entry in manifest["evaluations"]:
        if entry.pop("execution", None) is not None:
            entry["key"] = EvalSpec(entry["metric"], entry["options"]).key
    (run / "manifest.json").write_text(json.dumps({**manifest, "layout": 2}))
    return moved


def test_a_layout_2_run_compares_with_its_converted_self_and_migrate_gives_the_committed_files(tmp_path, cli_runner):
    old = tmp_path / "old"
    shutil.copytree(REFERENCE, old, ignore=shutil.ignore_patterns("report", ".lock*"))
    assert as_layout_2(old) == 6  # dci at two sizes on three models
    assert {p.name for p in old.glob("cells/*/evaluations/dci/*")} == {"645fa013b5ef", "f814887045ad"}
    out = cli_runner.invoke(cli, ["compare", str(old), str(REFERENCE)])
    assert out.exit_code == 0, out.output
    assert "dci.disentanglement: identical" in out.output and "not compared" not in out.output
    assert "all 28 outputs within 0 on 3 shared models" in out.output
    out = cli_runner.invoke(cli, ["migrate", str(old)])
    assert out.exit_code == 0 and out.output.strip().endswith("6 evaluations re-keyed"), out.output

    def files(run: Path) -> list[Path]:
        kept = (p for p in run.rglob("*") if p.is_file() and "report" not in p.parts and not p.name.startswith(".lock"))
        return sorted(p.relative_to(run) for p in kept)

    assert files(old) == files(REFERENCE)
    assert all((old / f).read_bytes() == (REFERENCE / f).read_bytes() for f in files(REFERENCE))
    again = cli_runner.invoke(cli, ["migrate", str(old)])
    assert again.output.strip().endswith("already in the current layout")
