"""ntkx: neural tangent kernels and the theory of how neural networks extrapolate.

After Xu, Zhang, Li, Du, Kawarabayashi, Jegelka, "How Neural Networks
Extrapolate: From Feedforward to Graph Neural Networks", ICLR 2021
(arXiv 2009.11848).

Data flows spec -> kernel -> solver -> metric -> report:

* specs: :func:`mlp`, :func:`gnn`, :func:`gin`, :func:`interaction_network`,
  :func:`from_stax` (one architecture protocol, :mod:`ntkx.core.protocol`);
* kernels: :func:`kernel` (closed form, Monte Carlo or empirical, for every spec);
* solvers: :func:`kernel_regression` (dense, or matrix-free CG sharded over devices with
  :class:`KernelOperator`), :func:`gradient_flow`, :func:`nngp_posterior`;
  finite networks: :func:`train_gd`, :func:`train_adam`;
* metrics: :mod:`ntkx.metrics`; reports: :mod:`ntkx.plotting`, :mod:`ntkx.runner`.

This module only re-exports the public API.
"""

from ntkx import _compat  # noqa: F401  (patches jax for neural-tangents first)
from ntkx.core.iterative import CGDiagnostics, ConvergenceWarning, KernelOperator
from ntkx.core.kernels import (
    KernelEstimate,
    empirical_kernel,
    kernel,
    kernel_matrix,
    monte_carlo_convergence,
    monte_carlo_kernel,
)
from ntkx.core.numerics import InsufficientMemoryError
from ntkx.core.protocol import Architecture, KernelPair
from ntkx.core.solvers import (
    KernelRegression,
    SolveDiagnostics,
    gradient_flow,
    kernel_regression,
    nngp_posterior,
    solve_kernel_system,
)
from ntkx.core.stax_network import StaxNetwork, from_stax
from ntkx.core.training import AdamState, TrainResult, train_adam, train_gd
from ntkx.feedforward.data import (
    geometry,
    make_target,
    rays,
    test_set,
    training_set,
    unit_directions,
)
from ntkx.feedforward.mlp import ACTIVATIONS, MLP, mlp
from ntkx.graphs.batch import GraphBatch, batch_graphs
from ntkx.graphs.gin import GIN, gin
from ntkx.graphs.interaction import InteractionNetwork, interaction_network
from ntkx.graphs.message_passing import GNN, gnn
from ntkx.graphs.sampling import (
    FAMILIES,
    choose_source_target,
    max_degree_dataset,
    read_graphs,
    sample_graph,
    shortest_path_dataset,
    shortest_path_targets,
    spanning_rank,
    write_graphs,
)
from ntkx.metrics import (
    directional_linearity,
    error_report,
    extrapolation_curve,
    mape_mean,
    mape_median,
    mape_median_per_batch,
    mse,
    slope_convergence,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "FAMILIES",
    "GIN",
    "GNN",
    "MLP",
    "AdamState",
    "Architecture",
    "CGDiagnostics",
    "ConvergenceWarning",
    "GraphBatch",
    "InsufficientMemoryError",
    "InteractionNetwork",
    "KernelEstimate",
    "KernelOperator",
    "KernelPair",
    "KernelRegression",
    "SolveDiagnostics",
    "StaxNetwork",
    "TrainResult",
    "batch_graphs",
    "choose_source_target",
    "directional_linearity",
    "empirical_kernel",
    "error_report",
    "extrapolation_curve",
    "from_stax",
    "geometry",
    "gin",
    "gnn",
    "gradient_flow",
    "interaction_network",
    "kernel",
    "kernel_matrix",
    "kernel_regression",
    "make_target",
    "mape_mean",
    "mape_median",
    "mape_median_per_batch",
    "max_degree_dataset",
    "mlp",
    "monte_carlo_convergence",
    "monte_carlo_kernel",
    "mse",
    "nngp_posterior",
    "rays",
    "read_graphs",
    "sample_graph",
    "shortest_path_dataset",
    "shortest_path_targets",
    "slope_convergence",
    "solve_kernel_system",
    "spanning_rank",
    "test_set",
    "train_adam",
    "train_gd",
    "training_set",
    "unit_directions",
    "write_graphs",
]
