"""``ntkx graph`` at another seed: the README's seeds 1-3 of the --message-relu comparison.

``ntkx graph --n-seeds 1`` runs seed 0 only (data ``default_rng(7)``, networks ``key(0)``) and
has no first-seed option; this one-off script makes the experiment's ``range(n_seeds)`` yield
seed ``NTKX_SEED`` instead (data ``default_rng(1000 s + 7)``, networks ``key(s)``, as
``GraphConfig.n_seeds`` documents), everything else unchanged. The record's ``seeds`` field
still says 0. Usage (the flags of ``ntkx graph``)::

    NTKX_SEED=2 uv run python benchmarks/graph_shortest_path_midscale/other_seed.py \\
        --task shortest_path --aggregations min --readouts min --width 64 --n-train 1000 \\
        --n-test 100 --test-sizes 50 100 --epochs 200 --learning-rate 0.005 \\
        --lr-halving-every 50 --message-relu --out runs/s2_relu
"""

import builtins
import os
import sys

import ntkx.graphs.experiment as ex

SEED = int(os.environ.get("NTKX_SEED", "1"))


def _seed_range(*args: int) -> range:
    return builtins.range(SEED, SEED + 1) if args == (1,) else builtins.range(*args)


ex.range = _seed_range  # type: ignore[attr-defined]  # the module's global shadows the builtin
sys.exit(ex.graph_main(sys.argv[1:]))
