"""The ``ntkx`` command: ``ntkx demo | curve | graph | check | reproduce``.

``ntkx curve`` and ``ntkx graph`` are experiments on :mod:`ntkx.runner` (flags generated from
their config dataclasses; ``ntkx curve --help``); ``ntkx check`` runs :mod:`proofs_check`.
Exit status: that of the command; 2 for an unknown command.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

#: subcommand -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": (
        "ntkx.feedforward.demo",
        "main",
        "NTK predictor of a ReLU net on x^2: numbers and a plot",
    ),
    "curve": (
        "ntkx.feedforward.experiment",
        "curve_main",
        "feedforward extrapolation: R^2, MAPE, curves, width sweep",
    ),
    "graph": (
        "ntkx.graphs.experiment",
        "graph_main",
        "GNNs: max degree, shortest path, graph families",
    ),
    "nbody": (
        "ntkx.graphs.nbody_experiment",
        "nbody_main",
        "n-body: interaction networks, raw against physics features",
    ),
    "check": ("ntkx.cli", "check_main", "numerical and symbolic checks of the paper's claims"),
    "reproduce": (
        "ntkx.reproduce",
        "reproduce_main",
        "every experiment of the paper; report.md beside the paper's values",
    ),
}


def _usage() -> str:
    lines = ["usage: ntkx COMMAND [options]   (ntkx COMMAND --help for options)", ""]
    lines += [f"  {name:8s} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    return "\n".join(lines)


def check_main(argv: Sequence[str]) -> int:
    """``ntkx check``: the same as ``python -m proofs_check`` (its exit status returned, also
    for usage errors and ``--help``, which argparse signals by ``SystemExit``)."""
    import proofs_check

    try:
        return proofs_check.main(list(argv), prog="ntkx check")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``argv[0]`` to its command with the remaining arguments; return the status."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(
            f"ntkx: error: unknown command {name!r}; expected one of {sorted(COMMANDS)}.",
            file=sys.stderr,
        )
        print(_usage(), file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[name]
    return int(getattr(importlib.import_module(module), function)(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
