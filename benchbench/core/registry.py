"""Name → plugin registries for methods, metrics and datasets.

One small generic type, three instances.  Built-in plugins register themselves when
their package is imported; third-party ones arrive through the entry-point groups
``benchbench.methods`` / ``benchbench.metrics`` / ``benchbench.datasets`` or through
:func:`load_plugin` (``--plugin FILE.py`` / ``--plugin package.module`` on the CLI).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class BenchbenchError(Exception):
    """A user-facing error: the CLI prints it as one line and exits with code 2."""


class MetricNotApplicable(BenchbenchError):
    """Raised by a metric that does not apply to a dataset or model (e.g. attribute accuracy
    without binary labels); the evaluator records it as such and goes on.  Metric plugins import
    it from :mod:`benchbench.plugin.metric`."""


class BenchbenchDeprecation(FutureWarning):
    """A plugin written against an older form of an API that still works: shown to the user
    (a ``FutureWarning``, not hidden like a ``DeprecationWarning``) as one ``warning:`` line."""


def one_line(exc: BaseException) -> str:
    """An exception as the one line a status file or a console shows."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class Registry(Generic[T]):
    """Plugins of one kind, looked up by name."""

    def __init__(self, kind: str, builtin_package: str, api: str | None = None, plural: str | None = None):
        self.kind = kind
        #: Its entry-point group is ``benchbench.<plural>``.
        self.plural = plural or f"{kind}s"
        self._builtin_package = builtin_package
        #: The plugin API module that declares this kind: importing it sets :attr:`declare`.
        self._api = api
        #: ``declare(obj, name) → item``: what a registered object is kept as (the metric API
        #: makes each metric one declared object); ``None``: kept as registered.
        self.declare: Callable[[Any, str], T] | None = None
        self._items: dict[str, T] = {}
        self._registered: dict[str, Any] = {}
        self._loaded = False

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@methods.register("dip_vae")`` (the name defaults to ``obj.name``)."""

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "name", None) or obj.__name__
            if key in self._registered and self._registered[key] is not obj:
                raise BenchbenchError(f"{self.kind} {key!r} is registered twice")
            if self._api is not None and self.declare is None:
                importlib.import_module(self._api)
            self._items[key] = obj if self.declare is None else self.declare(obj, key)
            self._registered[key] = obj
            if inspect.isclass(obj) and getattr(obj, "name", None) != key:
                obj.name = key
            return obj

        return decorator

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a test's plugin, say), so it can be registered again."""
        self._items.pop(name, None)
        self._registered.pop(name, None)

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        importlib.import_module(self._builtin_package)
        for ep in entry_points(group=f"benchbench.{self.plural}"):
            ep.load()

    def get(self, name: str) -> T:
        self._ensure_loaded()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise BenchbenchError(
                f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._items))})"
            ) from None

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._items

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter((n, self._items[n]) for n in self.names())


methods: Registry[Any] = Registry("method", "benchbench.methods")
metrics: Registry[Any] = Registry("metric", "benchbench.metrics", api="benchbench.plugin.metric")
datasets: Registry[Any] = Registry("dataset", "benchbench.datasets")
studies: Registry[Any] = Registry("study", "benchbench.studies", api="benchbench.plugin.study", plural="studies")


def load_plugin(spec: str) -> None:
    """Import a plugin from a ``.py`` file path or a dotted module name.

    Importing it runs its ``@register`` decorators.  The same file is imported once
    per process, so packs re-load their plugins safely in worker processes.
    """
    import_source(spec, "plugin")


def import_source(spec: str, what: str) -> ModuleType:
    """The module of a ``.py`` file path or a dotted module name, imported once per process; a
    problem is one line naming ``what`` it was meant to be (``plugin``, ``encoder``)."""
    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise BenchbenchError(f"{what} file not found: {spec}")
        resolved = path.resolve()
        module_name = f"benchbench_plugin_{abs(hash(str(resolved))):x}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        module_spec = importlib.util.spec_from_file_location(module_name, resolved)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except (KeyboardInterrupt, BenchbenchError):
            del sys.modules[module_name]
            raise
        except BaseException as exc:  # sys.exit() and BaseException subclasses too: one line, not a traceback
            del sys.modules[module_name]
            raise _failed(what, spec, exc, resolved) from None
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise BenchbenchError(f"{what} module not found: {spec} ({exc})") from None
        raise _failed(what, spec, exc) from None
    except (KeyboardInterrupt, BenchbenchError):
        raise
    except BaseException as exc:
        raise _failed(what, spec, exc) from None


def _failed(what: str, spec: str, exc: BaseException, path: Path | None = None) -> BenchbenchError:
    """The one line for a module that did not import: where it raised, or that it asked to exit."""
    if isinstance(exc, SystemExit):
        return BenchbenchError(f"{what} {spec} called sys.exit({exc.code!r}) while being imported")
    return BenchbenchError(f"{what} {spec} failed to import: {_where(exc, path) if path else ''}{one_line(exc)}")


def _where(exc: BaseException, path: Path) -> str:
    """``line N: `` of the plugin file where ``exc`` arose, if it did there."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"line {exc.lineno}: "
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return f"line {frames[-1].lineno}: " if frames else ""


def load_plugins(specs: list[str] | tuple[str, ...]) -> None:
    for spec in specs:
        load_plugin(spec)
