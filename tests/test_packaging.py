import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_plugins_under_benchbench(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("benchbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in (
        "benchbench/cli.py",
        "benchbench/methods/dip_vae.py",
        "benchbench/metrics/reconstruction_error.py",
        "benchbench/datasets/shapes2d.py",
    ):
        assert path in names
    top_level = {n.split("/")[0] for n in names if not n.startswith("benchbench-")}
    assert top_level == {"benchbench"}  # never top-level methods/metrics/datasets packages
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "benchbench = benchbench.cli:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_python_dash_m_runs_the_cli():
    listing = subprocess.run([sys.executable, "-m", "benchbench", "list"], capture_output=True, text=True, check=True)
    assert "dip_vae" in listing.stdout and "dci" in listing.stdout
