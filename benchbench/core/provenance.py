"""Where a result came from: package versions, the git commit, device names, the time.

Written into a run's manifest and into every evaluation record, so a number can always be
traced to the code and hardware that produced it.
"""

from __future__ import annotations

import datetime as dt
import functools
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

PACKAGES = ("benchbench", "torch", "numpy", "pandas", "scikit-learn", "scipy", "joblib", "click")


@functools.cache
def git_commit() -> str | None:
    """The commit of the benchbench checkout in use (None for an installed wheel)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


@functools.cache
def versions() -> dict[str, str]:
    """Each package's installed version; torch's as it names its own build (``2.14.1+cu130``,
    ``2.13.0+cpu``), which a wheel's metadata may leave out and which decides float results."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    found["torch"] = torch.__version__
    return found


def device_name(device: torch.device) -> str:
    """The device as a result depends on it: the GPU's name, or the CPU's model and the BLAS
    kernel numpy runs (OpenBLAS picks one per CPU, and they round differently)."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({_cpu_model()}; {_blas()})"


@functools.cache
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def _blas() -> str:
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return " ".join(str(pool[k]) for k in ("internal_api", "architecture") if pool.get(k))
    return "BLAS unknown"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
