import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = {"methods": "benchbench/methods", "metrics": "benchbench/metrics", "datasets": "benchbench/datasets"}


def source_packages() -> set[str]:
    """Every package folder of the source tree, as the wheel must hold it."""
    found = set()
    for init in ROOT.glob("**/__init__.py"):
        folder = init.parent.relative_to(ROOT).as_posix()
        top = folder.split("/")[0]
        if top == "benchbench":
            found.add(folder)
        elif top in PLUGIN_DIRS:
            found.add(folder.replace(top, PLUGIN_DIRS[top], 1))
    return found


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> tuple[Path, str]:
    """The wheel `pip install .` would build, and what the build said: built once per session."""
    dest = tmp_path_factory.mktemp("dist")
    args = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dest), str(ROOT)]
    out = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=True)
    (wheel,) = dest.glob("benchbench-*.whl")
    return wheel, out.stdout + out.stderr


@pytest.mark.slow
def test_wheel_ships_plugins_under_benchbench(built_wheel):
    wheel, said = built_wheel
    # a package folder missing from pyproject's list is shipped, if at all, as data, with a warning
    assert "is absent from the `packages` configuration" not in said, said
    names = zipfile.ZipFile(wheel).namelist()
    for path in (
        "benchbench/cli.py",
        "benchbench/methods/dip_vae.py",
        "benchbench/metrics/reconstruction_error.py",
        "benchbench/datasets/shapes2d.py",
    ):
        assert path in names
    assert {p for p in source_packages() if f"{p}/__init__.py" not in names} == set()  # none forgotten
    top_level = {n.split("/")[0] for n in names if not n.startswith("benchbench-")}
    assert top_level == {"benchbench"}  # never top-level methods/metrics/datasets packages
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "benchbench = benchbench.cli:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_python_dash_m_runs_the_cli():
    listing = subprocess.run([sys.executable, "-m", "benchbench", "list"], capture_output=True, text=True, check=True)
    assert "dip_vae" in listing.stdout and "dci" in listing.stdout


@pytest.mark.slow
def test_the_wheel_installed_as_users_install_it_writes_a_report(tmp_path, cli_runner, built_wheel):
    """`pip install` of the wheel (not editable) into a fresh venv, then `benchbench report`."""
    from benchbench.cli import cli

    out = cli_runner.invoke(cli, ["run", "--grid", "smoke", "--methods", "vae", "--device", "cpu", "--no-progress",
                                  "--results", str(tmp_path / "results")])  # fmt: skip
    assert out.exit_code == 0, out.output
    wheel, _ = built_wheel
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # the dependencies come from this environment (no network); benchbench only from the wheel
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    where = subprocess.run([python, "-c", "import benchbench.report; print(benchbench.report.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout  # fmt: skip
    assert where.startswith(purelib)
    report = subprocess.run([env_dir / "bin" / "benchbench", "report", str(tmp_path / "results" / "smoke"),
                             "--out", str(tmp_path / "report")],
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "index.html").exists() and (tmp_path / "report" / "table1.csv").exists()
