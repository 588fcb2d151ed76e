"""benchbench: train and compare disentangled-representation learners reproducibly."""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

#: Where the plugin API's modules moved when the engine was grouped into packages.  A plugin
#: that still imports one by its old name loads, with one ``warning:`` line naming
#: :mod:`benchbench.api`, the surface that stays put.
MOVED = {
    "benchbench.registry": "benchbench.core.registry",
    "benchbench.method": "benchbench.plugin.method",
    "benchbench.metric": "benchbench.plugin.metric",
    "benchbench.data": "benchbench.plugin.data",
    "benchbench.representation": "benchbench.plugin.representation",
    "benchbench.stats": "benchbench.plugin.stats",
    "benchbench.boosting": "benchbench.plugin.boosting",
}


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a module of :data:`MOVED` by its old name as the very module at its new one."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec):
        import warnings

        from benchbench.core.registry import BenchbenchDeprecation

        warnings.warn(
            f"{spec.name} is now {MOVED[spec.name]}: import its names from benchbench.api (they still load)",
            BenchbenchDeprecation,
            stacklevel=2,
        )
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        """Nothing to run: the module at its new name is loaded already."""


if not any(isinstance(finder, _Moved) for finder in sys.meta_path):
    sys.meta_path.append(_Moved())


def __getattr__(name: str):
    """``benchbench.score``, imported on first use (it brings torch and the metrics)."""
    if name == "score":
        from benchbench.evaluation.scoring import score

        return score
    raise AttributeError(f"module 'benchbench' has no attribute {name!r}")
