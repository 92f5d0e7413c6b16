"""One runner for every ntkx experiment: CLI, progress, timings, ``result.json``, Ctrl-C.

An experiment kind is an :class:`Experiment`: a name, a frozen dataclass config type
(validated in its own ``__post_init__``), a function ``run(config, ctx) -> dict`` that
returns JSON-ready metrics and, optionally, ``plot(metrics, ctx) -> {name: png_path}``.

* :func:`run_experiment` runs it and returns (and, with ``out_dir``, writes as
  ``result.json``) one record with a single schema: ``experiment``, ``schema``,
  ``interrupted``, ``config``, ``seeds``, ``environment``, ``metrics``, ``files`` and
  ``timings``. Everything except ``timings`` is deterministic given the config.
* :func:`cli_main` builds the command line from the config's fields with ``tyro``
  (``n_train`` becomes ``--n-train``, tuples take several values, ``Optional`` fields
  accept ``None``), adds ``--out DIR`` and ``--quiet``, and returns an exit status:
  0 on success, 2 on bad arguments (never a traceback), 130 on Ctrl-C.
* If the run raises :class:`KeyboardInterrupt`, ``result.json`` is still written with
  ``"interrupted": true`` and the metrics checkpointed so far (:meth:`RunContext.checkpoint`).
* :func:`to_jsonable` and :func:`save_json` give strict JSON (no NaN tokens, sorted keys).

Example:
    >>> import dataclasses
    >>> from ntkx.runner import Experiment, run_experiment
    >>> @dataclasses.dataclass(frozen=True)
    ... class SquareConfig:
    ...     n: int = 3
    ...     seed: int = 0
    >>> def run_square(config, ctx):
    ...     with ctx.stage("compute"):
    ...         squares = [i * i for i in ctx.progress(range(config.n), desc="squares")]
    ...     return {"squares": squares}
    >>> square = Experiment("square", SquareConfig, run_square)
    >>> result = run_experiment(square, SquareConfig(n=4), progress=False)
    >>> result["metrics"], result["seeds"], sorted(result["timings"])
    ({'squares': [0, 1, 4, 9]}, [{'field': 'seed', 'value': 0}], ['compute_s', 'total_s'])
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import inspect
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Final

import numpy as np
import tyro
from tqdm import tqdm

from ntkx.core.validation import check_out_dir

__all__ = [
    "SCHEMA_VERSION",
    "Experiment",
    "RunContext",
    "cli_main",
    "run_experiment",
    "save_json",
    "to_jsonable",
]

#: Version of the ``result.json`` layout written by :func:`run_experiment`.
SCHEMA_VERSION: Final = 1
#: Flags the runner adds to every command; no config field may use these names.
RUNNER_FIELDS: Final = ("out", "quiet")


@dataclasses.dataclass(frozen=True)
class Experiment:
    """An experiment kind.

    Parameters
    ----------
    name : str
        Used in ``result.json``, log lines and the program name ``ntkx NAME``.
    config_type : type
        A frozen dataclass; its ``__post_init__`` raises ValueError on bad values.
    run : callable
        ``run(config, ctx: RunContext) -> dict`` of JSON-ready metrics.
    plot : callable or None
        ``plot(metrics, ctx) -> dict[str, str]`` of files written under ``ctx.out_dir``
        (paths absolute or relative to the working directory, as ``ctx.out_dir / "x.png"``
        gives them); called only when there is an output directory.
    description : str or None
        ``--help`` text (default: the config's docstring).
    """

    name: str
    config_type: type
    run: Callable[[Any, RunContext], dict[str, Any]]
    plot: Callable[[dict[str, Any], RunContext], dict[str, str]] | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name={self.name!r} is not allowed; expected a non-empty string.")
        ct = self.config_type
        if not (isinstance(ct, type) and dataclasses.is_dataclass(ct)):
            raise ValueError(f"config_type={ct!r} is not allowed; expected a dataclass type.")
        if not ct.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise ValueError(
                f"config_type={ct.__name__} is not allowed; expected a frozen dataclass "
                "(@dataclasses.dataclass(frozen=True))."
            )
        clash = [f.name for f in dataclasses.fields(ct) if f.name in RUNNER_FIELDS]
        if clash:
            raise ValueError(
                f"config_type={ct.__name__} has field(s) {clash}, which are reserved for the "
                f"runner's own flags; expected field names other than {list(RUNNER_FIELDS)}."
            )
        if not callable(self.run):
            raise ValueError(f"run={self.run!r} is not allowed; expected a callable.")
        if self.plot is not None and not callable(self.plot):
            raise ValueError(f"plot={self.plot!r} is not allowed; expected a callable or None.")


class RunContext:
    """What a run function gets besides its config: logging, progress, stages, checkpoints.

    Parameters
    ----------
    name : str
        The experiment name (log prefix).
    out_dir : path or None
        Output directory, available as ``ctx.out_dir`` (a Path, or None).
    progress : bool
        Show log lines and progress bars on stderr.
    data : dict or None
        In-memory inputs given to :func:`run_experiment` (``ctx.data``, e.g. a custom
        dataset); the run function says which keys it reads. Not part of the config, so the
        run should describe them in its metrics.
    """

    def __init__(
        self,
        name: str,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        progress: bool = True,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.data: dict[str, Any] = dict(data or {})
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.verbose = bool(progress)
        self.timings: dict[str, float] = {}
        self.partial: dict[str, Any] = {}
        self.files: dict[str, str] = {}
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the context was created."""
        return time.perf_counter() - self._start

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block; the seconds are added to ``timings[name + "_s"]``."""
        if not isinstance(name, str) or not name or name == "total":
            raise ValueError(
                f"name={name!r} is not allowed; expected a non-empty stage name other than 'total'."
            )
        t0 = time.perf_counter()
        try:
            yield
        finally:
            key = f"{name}_s"
            self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - t0

    def log(self, message: str) -> None:
        """Print ``[ntkx NAME  elapsed s] message`` to stderr (nothing when not verbose)."""
        if self.verbose:
            print(f"[ntkx {self.name} {self.elapsed():7.1f} s] {message}", file=sys.stderr)

    def progress(
        self, iterable: Iterable[Any], *, desc: str | None = None, total: int | None = None
    ) -> Iterable[Any]:
        """Wrap ``iterable`` in a tqdm progress bar on stderr (disabled when not verbose)."""
        return tqdm(iterable, desc=desc, total=total, disable=not self.verbose, file=sys.stderr)

    def checkpoint(self, key: str, value: Any) -> None:
        """Record a finished unit of work; kept in ``result.json`` if the run is interrupted.

        ``value`` is converted with :func:`to_jsonable` now, so later mutation has no effect.
        """
        self.partial[str(key)] = to_jsonable(value)

    def add_file(self, name: str, path: str | os.PathLike[str]) -> None:
        """List a file written by the run (path as for ``plot``) under ``files``."""
        self.files[str(name)] = os.fspath(path)


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON data (dict/list/str/int/float/bool/None).

    Handles dicts (keys become strings), lists, tuples, NamedTuples (``_asdict``),
    dataclass instances, objects with a ``describe()`` method, NumPy/JAX scalars and
    arrays, and paths. Non-finite floats become ``"inf"``, ``"-inf"`` or ``"nan"``.

    >>> to_jsonable({"a": (1, np.float32(0.5)), "b": float("-inf"), 3: np.arange(2)})
    {'a': [1, 0.5], 'b': '-inf', '3': [0, 1]}
    """
    return _jsonable(obj, "obj")


def _jsonable(obj: Any, where: str) -> Any:
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)  # 'inf', '-inf', 'nan'
    if callable(getattr(obj, "describe", None)):
        return _jsonable(obj.describe(), where)
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):
        return _jsonable(obj._asdict(), where)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _jsonable(getattr(obj, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), where)
    if isinstance(obj, np.ndarray) or hasattr(obj, "__array__"):
        return _jsonable(np.asarray(obj).tolist(), where)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise ValueError(
        f"{where} has type {type(obj).__name__}, which is not allowed; expected JSON data, "
        "a NumPy/JAX array or scalar, a (named) tuple, a dataclass or an object with describe()."
    )


def save_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``to_jsonable(obj)`` as strict JSON (sorted keys, no NaN tokens); return the path.

    The file is written to a temporary name and renamed, so it is never half-written.
    """
    path = Path(path)
    text = json.dumps(to_jsonable(obj), indent=1, sort_keys=True, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open() keeps the umask's mode
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _prepare_out_dir(out_dir: str | os.PathLike[str], name: str) -> Path:
    """Create ``out_dir`` and check that a file can be written there; ValueError otherwise."""
    return check_out_dir(name, out_dir)


def _environment() -> dict[str, Any]:
    import jax

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "jaxlib": version("jaxlib"),
        "numpy": np.__version__,
        "ntkx": version("ntkx"),
        "jax_backend": jax.default_backend(),
        "jax_device_count": jax.device_count(),
        "jax_enable_x64": bool(jax.config.read("jax_enable_x64")),
    }


def _seeds(config: Any) -> list[dict[str, Any]]:
    """The seeds a config fixes: fields named ``*seed``/``*seeds`` (their values), and
    ``n_*seeds`` counts (the seeds ``0 .. n - 1`` they stand for)."""
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not f.name.endswith(("seed", "seeds")):
            continue
        if f.name.startswith("n_"):
            value = list(range(int(value)))
        out.append({"field": f.name, "value": to_jsonable(value)})
    return out


def run_experiment(
    experiment: Experiment,
    config: Any,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``experiment`` on ``config``; return the result record (see the module docstring).

    ``data`` (optional): in-memory inputs for the run function, as ``ctx.data`` (for example a
    custom dataset; which keys are read is the experiment's to document).

    With ``out_dir`` (created if needed, checked writable before running) the plots are
    made and the record is written to ``out_dir/result.json``; ``files`` holds paths
    relative to ``out_dir``. On :class:`KeyboardInterrupt` the record is written with
    ``"interrupted": true`` and the checkpointed metrics, then the interrupt is re-raised.
    """
    if not isinstance(config, experiment.config_type):
        raise ValueError(
            f"config={config!r} is not allowed; expected a {experiment.config_type.__name__} "
            f"(the config type of experiment {experiment.name!r})."
        )
    out = None if out_dir is None else _prepare_out_dir(out_dir, "out_dir")
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"data has type {type(data).__name__}; expected a dict or None.")
    ctx = RunContext(experiment.name, out, progress=progress, data=data)
    interrupted = False
    metrics: dict[str, Any] | None = None
    try:
        metrics = experiment.run(config, ctx)
        if not isinstance(metrics, dict):
            raise ValueError(
                f"experiment {experiment.name!r} returned {type(metrics).__name__}; "
                "expected a dict of metrics from its run function."
            )
        if out is not None and experiment.plot is not None:
            with ctx.stage("plot"):
                ctx.files.update(experiment.plot(metrics, ctx))
    except KeyboardInterrupt:
        interrupted = True
    record = {
        "experiment": experiment.name,
        "schema": SCHEMA_VERSION,
        "interrupted": interrupted,
        "config": dataclasses.asdict(config),
        "seeds": _seeds(config),
        "environment": _environment(),
        "metrics": ctx.partial if metrics is None else metrics,
        "files": {},
        "timings": dict(ctx.timings, total_s=ctx.elapsed()),
    }
    if out is not None:
        files = {k: os.path.relpath(v, out) for k, v in ctx.files.items()}
        record["files"] = dict(files, json="result.json")
    record = to_jsonable(record)
    if out is not None:
        path = save_json(out / "result.json", record)
        if interrupted:
            print(
                f"ntkx {experiment.name}: interrupted; partial results in {path}", file=sys.stderr
            )
    if interrupted:
        raise KeyboardInterrupt
    return record


def _unchecked(config_type: type) -> type:
    """A subclass of ``config_type`` whose ``__post_init__`` does nothing.

    tyro catches exceptions raised while constructing a dataclass and prints its own error
    box; parsing into this subclass lets the runner build and validate the real config.
    """
    attrs = {name: getattr(config_type, name) for name in ("__module__", "__qualname__", "__doc__")}
    return type(config_type.__name__, (config_type,), dict(attrs, __post_init__=lambda self: None))


def cli_main(experiment: Experiment, argv: Sequence[str] | None = None) -> int:
    """Command line of ``experiment``: flags from the config's fields, ``--out``, ``--quiet``.

    Returns the exit status: 0 on success (``--help`` included), 2 on bad arguments or an
    unusable ``--out`` (printed as ``ntkx NAME: error: ...``, nothing is run), 130 if the
    run was interrupted (partial ``result.json`` written).
    """
    prog = f"ntkx {experiment.name}"
    ct = experiment.config_type
    args_type = dataclasses.make_dataclass(
        "Args",
        [
            ("out", Annotated[Path, tyro.conf.arg(help="output directory (created if needed)")]),
            ("config", Annotated[_unchecked(ct), tyro.conf.OmitArgPrefixes]),
            (
                "quiet",
                Annotated[bool, tyro.conf.FlagCreatePairsOff, tyro.conf.arg(help="no progress")],
                dataclasses.field(default=False),
            ),
        ],
        frozen=True,
    )
    doc = inspect.cleandoc(ct.__doc__ or "")
    if doc.startswith(f"{ct.__name__}("):  # the signature dataclasses puts in place of a docstring
        doc = ""
    description = experiment.description or doc or f"The {experiment.name} experiment."
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = tyro.cli(args_type, args=argv, prog=prog, description=description)
    except SystemExit as exc:  # tyro has printed help or a parse error
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    values = {f.name: getattr(args.config, f.name) for f in dataclasses.fields(ct) if f.init}
    try:
        config = ct(**values)
        _prepare_out_dir(args.out, "--out")
    except ValueError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    try:
        record = run_experiment(experiment, config, args.out, progress=not args.quiet)
    except KeyboardInterrupt:
        return 130
    print(f"{prog}: wrote {Path(args.out, record['files']['json'])}")
    return 0
