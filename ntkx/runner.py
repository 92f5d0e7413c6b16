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
  accept ``None``), adds ``--out DIR``, ``--resume`` and ``--quiet``, and returns an exit
  status: 0 on success, 2 on bad arguments (never a traceback), 130 on Ctrl-C (one line
  saying what was kept, no traceback).
* Every finished unit of work a run reports with :meth:`RunContext.checkpoint` is written
  at once (atomically: temporary file, then rename) to ``out_dir/partial.json``. If the run
  is interrupted (Ctrl-C), ``result.json`` is written with ``"interrupted": true`` and those
  metrics, ``partial.json`` is kept, and ``resume=True`` (``--resume``) continues from it:
  the run function asks :meth:`RunContext.restore` for each unit before computing it, so an
  interrupted-and-resumed run writes the same ``result.json`` as an uninterrupted one
  (``timings`` apart). A finished run removes ``partial.json``.
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
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Final

import numpy as np

from ntkx.core.progress import progress_bar
from ntkx.core.validation import check_bool, check_out_dir

__all__ = [
    "SCHEMA_VERSION",
    "Experiment",
    "RunContext",
    "catch_swallowed_interrupts",
    "cli_main",
    "interrupt_once",
    "run_experiment",
    "save_json",
    "to_jsonable",
]

#: Version of the ``result.json`` layout written by :func:`run_experiment`.
SCHEMA_VERSION: Final = 1
#: Flags the runner adds to every command; no config field may use these names.
RUNNER_FIELDS: Final = ("out", "quiet", "resume")
#: File of the finished units of a running (or interrupted) run, inside ``out_dir``.
PARTIAL_FILE: Final = "partial.json"


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
    restored : dict or None
        Units kept by an earlier, interrupted run of the same config (``--resume``); read
        them with :meth:`restore`.
    """

    def __init__(
        self,
        name: str,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        progress: bool = True,
        data: dict[str, Any] | None = None,
        restored: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.data: dict[str, Any] = dict(data or {})
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.verbose = bool(progress)
        self.timings: dict[str, float] = {}
        self.partial: dict[str, Any] = {}
        self.files: dict[str, str] = {}
        self.restored: dict[str, Any] = dict(restored or {})
        self.interrupt_requested = False
        self._header: dict[str, Any] | None = None
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
        """Wrap ``iterable`` in a progress bar on stderr (off when not verbose or not on a
        terminal: :mod:`ntkx.core.progress`). A Ctrl-C swallowed by Python (one that landed
        in a finaliser) is raised at the next step."""
        for item in progress_bar(iterable, desc=desc, total=total, enabled=self.verbose):
            self.raise_if_interrupted()
            yield item

    def raise_if_interrupted(self) -> None:
        """Raise :class:`KeyboardInterrupt` if a Ctrl-C arrived where Python could not raise it."""
        if self.interrupt_requested:
            raise KeyboardInterrupt

    def checkpoint(self, key: str, value: Any) -> None:
        """Record a finished unit of work: kept in ``partial.json`` now (with an output
        directory) and in ``result.json`` if the run is interrupted.

        ``value`` is converted with :func:`to_jsonable` now, so later mutation has no effect.
        """
        self.partial[str(key)] = to_jsonable(value)
        if self.out_dir is not None and self._header is not None:
            save_json(self.out_dir / PARTIAL_FILE, dict(self._header, metrics=self.partial))
        self.raise_if_interrupted()

    def restore(self, key: str, default: Any = None) -> Any:
        """The value an interrupted run checkpointed under ``key`` (``--resume``), else
        ``default``. A run function calls it before computing a unit, to skip finished ones."""
        return self.restored.get(str(key), default)

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
    ``n_*seeds`` counts (the seeds ``first .. first + n - 1`` they stand for, ``first`` the
    config's ``first_seed`` or 0; ``first_seed`` itself is folded into that list)."""
    out = []
    first = int(getattr(config, "first_seed", 0))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not f.name.endswith(("seed", "seeds")) or f.name == "first_seed":
            continue
        if f.name.startswith("n_"):
            value = list(range(first, first + int(value)))
        out.append({"field": f.name, "value": to_jsonable(value)})
    return out


def _load_partial(out: Path, experiment: Experiment, config: Any) -> dict[str, Any]:
    """The units kept in ``out/partial.json`` for ``--resume``; ValueError when there is
    nothing to resume or the file belongs to another experiment or config."""
    path = out / PARTIAL_FILE
    if not path.is_file():
        done = out / "result.json"
        why = (
            f"{done} is a finished run"
            if done.is_file() and not json.loads(done.read_text()).get("interrupted", True)
            else f"there is no {path}"
        )
        raise ValueError(
            f"resume=True is not allowed: {why}; expected the --out directory of an "
            "interrupted run (rerun without --resume to start afresh)."
        )
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"resume=True: {path} cannot be read ({err}).") from err
    if kept.get("experiment") != experiment.name or kept.get("schema") != SCHEMA_VERSION:
        raise ValueError(
            f"resume=True: {path} was written by experiment {kept.get('experiment')!r} "
            f"(schema {kept.get('schema')}); expected {experiment.name!r} (schema "
            f"{SCHEMA_VERSION})."
        )
    now = to_jsonable(dataclasses.asdict(config))
    then = kept.get("config", {})
    differ = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    if differ:
        shown = ", ".join(f"{k}: {then.get(k)!r} -> {now.get(k)!r}" for k in differ[:5])
        raise ValueError(
            f"resume=True: {path} was written for another config ({shown}); expected the "
            "same flags as the interrupted run."
        )
    return dict(kept.get("metrics", {}))


def _describe_kept(partial: dict[str, Any]) -> str:
    """``ntk, finite (2 entries)``: the checkpointed units, for the interrupt message."""
    if not partial:
        return "no finished unit"
    parts = []
    for key, value in partial.items():
        n = len(value) if isinstance(value, list) else None
        parts.append(key if n is None else f"{key} ({n} entries)")
    return ", ".join(parts)


@contextlib.contextmanager
def catch_swallowed_interrupts(ctx: Any) -> Iterator[None]:
    """A Ctrl-C that lands in a finaliser or weakref callback is printed as "Exception
    ignored" and lost; instead set ``ctx.interrupt_requested = True`` (a :class:`RunContext`
    then raises it at its next step; other callers check the flag themselves)."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            ctx.interrupt_requested = True
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


@contextlib.contextmanager
def interrupt_once(*, keep_ignoring: bool = False) -> Iterator[None]:
    """Inside the block the first Ctrl-C raises :class:`KeyboardInterrupt` and later ones are
    ignored, so writing the kept results is not cut short (a terminal's Ctrl-C reaches a
    ``uv run`` child twice: once from the terminal, once forwarded by uv).

    ``keep_ignoring=True`` (command lines, about to exit) leaves Ctrl-C ignored after an
    interrupt, so a late copy cannot raise inside jax's exit handlers. Only acts in the main
    thread and when Python's default handler is installed (nested blocks, custom handlers and
    an inherited "ignore" are left alone).
    """
    import threading

    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        received.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        if not (received and keep_ignoring):
            signal.signal(signal.SIGINT, signal.default_int_handler)


def run_experiment(
    experiment: Experiment,
    config: Any,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    data: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Run ``experiment`` on ``config``; return the result record (see the module docstring).

    ``data`` (optional): in-memory inputs for the run function, as ``ctx.data`` (for example a
    custom dataset; which keys are read is the experiment's to document).

    With ``out_dir`` (created if needed, checked writable before running) the plots are
    made and the record is written to ``out_dir/result.json``; ``files`` holds paths
    relative to ``out_dir``; finished units are kept in ``out_dir/partial.json`` while it
    runs. On :class:`KeyboardInterrupt` the record is written with ``"interrupted": true``
    and the checkpointed metrics, one line says what was kept, and the interrupt is
    re-raised. ``resume=True`` (needs ``out_dir``) continues an interrupted run of the same
    config from its ``partial.json``; ValueError before running if there is none.
    """
    if not isinstance(config, experiment.config_type):
        raise ValueError(
            f"config={config!r} is not allowed; expected a {experiment.config_type.__name__} "
            f"(the config type of experiment {experiment.name!r})."
        )
    out = None if out_dir is None else _prepare_out_dir(out_dir, "out_dir")
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"data has type {type(data).__name__}; expected a dict or None.")
    check_bool("resume", resume)
    restored = None
    if resume:
        if out is None:
            raise ValueError("resume=True is not allowed without out_dir; expected both.")
        restored = _load_partial(out, experiment, config)
    ctx = RunContext(experiment.name, out, progress=progress, data=data, restored=restored)
    header = {
        "experiment": experiment.name,
        "schema": SCHEMA_VERSION,
        "config": dataclasses.asdict(config),
    }
    ctx._header = to_jsonable(header)
    if out is not None and not resume:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / PARTIAL_FILE)  # a stale file from an earlier run of this directory
    interrupted = False
    plot_error: Exception | None = None
    metrics: dict[str, Any] | None = None
    with interrupt_once():  # a second Ctrl-C cannot cut the writing of the kept results
        with catch_swallowed_interrupts(ctx):
            try:
                metrics = experiment.run(config, ctx)
                if not isinstance(metrics, dict):
                    raise ValueError(
                        f"experiment {experiment.name!r} returned {type(metrics).__name__}; "
                        "expected a dict of metrics from its run function."
                    )
                ctx.raise_if_interrupted()
                if out is not None and experiment.plot is not None:
                    with ctx.stage("plot"):
                        ctx.files.update(experiment.plot(metrics, ctx))
            except KeyboardInterrupt:
                interrupted = True
            except Exception as err:
                if metrics is None or not isinstance(metrics, dict):
                    raise
                plot_error = err  # the metrics are kept: result.json first, then the error
        if interrupted:
            metrics = None  # only finished units count; the plots may be half-drawn
        record = dict(
            header,
            interrupted=interrupted,
            seeds=_seeds(config),
            environment=_environment(),
            metrics=ctx.partial if metrics is None else metrics,
            files={},
            timings=dict(ctx.timings, total_s=ctx.elapsed()),
        )
        if out is not None:
            files = {k: os.path.relpath(v, out) for k, v in ctx.files.items()}
            record["files"] = dict(files, json="result.json")
        record = to_jsonable(record)
        if out is not None:
            path = save_json(out / "result.json", record)
            if not interrupted:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(out / PARTIAL_FILE)
        if interrupted:
            where = (
                f"in {path}; continue with --resume"
                if out is not None and ctx.partial
                else ("(nothing written without out_dir)" if out is None else f"in {path}")
            )
            print(
                f"ntkx {experiment.name}: interrupted after {ctx.elapsed():.1f} s; kept "
                f"{_describe_kept(ctx.partial)} {where}",
                file=sys.stderr,
            )
    if interrupted:
        raise KeyboardInterrupt
    if plot_error is not None:
        raise plot_error
    return record


def _unchecked(config_type: type) -> type:
    """A subclass of ``config_type`` whose ``__post_init__`` does nothing.

    tyro catches exceptions raised while constructing a dataclass and prints its own error
    box; parsing into this subclass lets the runner build and validate the real config.
    """
    attrs = {name: getattr(config_type, name) for name in ("__module__", "__qualname__", "__doc__")}
    return type(config_type.__name__, (config_type,), dict(attrs, __post_init__=lambda self: None))


def cli_main(experiment: Experiment, argv: Sequence[str] | None = None) -> int:
    """Command line of ``experiment``: flags from the config's fields, ``--out``, ``--resume``,
    ``--quiet``.

    Returns the exit status: 0 on success (``--help`` included), 2 on bad arguments, an
    unusable ``--out`` or nothing to ``--resume`` (printed as ``ntkx NAME: error: ...``,
    nothing is run), 130 if the run was interrupted (partial ``result.json`` written, one
    line on stderr, no traceback).
    """
    import tyro  # here only: the rest of ntkx runs without it (benchmarks/gpu.py on a GPU)

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
            (
                "resume",
                Annotated[
                    bool,
                    tyro.conf.FlagCreatePairsOff,
                    tyro.conf.arg(
                        help="continue the interrupted run in --out (same flags) from its "
                        "partial.json"
                    ),
                ],
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
        out = _prepare_out_dir(args.out, "--out")
        if args.resume:
            _load_partial(out, experiment, config)
    except ValueError as err:
        print(f"{prog}: error: {err}".replace("resume=True", "--resume"), file=sys.stderr)
        return 2
    try:
        with interrupt_once(keep_ignoring=True):
            record = run_experiment(
                experiment, config, args.out, progress=not args.quiet, resume=args.resume
            )
    except KeyboardInterrupt:
        return 130
    print(f"{prog}: wrote {Path(args.out, record['files']['json'])}")
    return 0
