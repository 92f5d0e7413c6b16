"""ntkx: neural tangent kernels and the theory of how neural networks extrapolate.

After Xu, Zhang, Li, Du, Kawarabayashi, Jegelka, "How Neural Networks
Extrapolate: From Feedforward to Graph Neural Networks", ICLR 2021
(arXiv 2009.11848).
"""

from ntkx import _compat  # noqa: F401  (patches jax for neural-tangents first)
from ntkx.architectures import ACTIVATIONS, MLP, Architecture, mlp
from ntkx.data import geometry, make_target, rays, test_set, training_set, unit_directions
from ntkx.gnn import GNN, gnn
from ntkx.graphs import (
    FAMILIES,
    GraphBatch,
    batch_graphs,
    max_degree_dataset,
    sample_graph,
    shortest_path_dataset,
    spanning_rank,
)
from ntkx.kernels import (
    InsufficientMemoryError,
    KernelEstimate,
    empirical_kernel,
    kernel,
    kernel_matrix,
    monte_carlo_kernel,
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
from ntkx.solvers import (
    KernelRegression,
    SolveDiagnostics,
    gradient_flow,
    kernel_regression,
    nngp_posterior,
    solve_kernel_system,
)
from ntkx.training import TrainResult, train_adam, train_gd

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "FAMILIES",
    "GNN",
    "MLP",
    "Architecture",
    "GraphBatch",
    "InsufficientMemoryError",
    "KernelEstimate",
    "KernelRegression",
    "SolveDiagnostics",
    "TrainResult",
    "batch_graphs",
    "directional_linearity",
    "empirical_kernel",
    "error_report",
    "extrapolation_curve",
    "geometry",
    "gnn",
    "gradient_flow",
    "kernel",
    "kernel_matrix",
    "kernel_regression",
    "make_target",
    "mape_mean",
    "mape_median",
    "mape_median_per_batch",
    "max_degree_dataset",
    "mlp",
    "monte_carlo_kernel",
    "mse",
    "nngp_posterior",
    "rays",
    "sample_graph",
    "shortest_path_dataset",
    "slope_convergence",
    "solve_kernel_system",
    "spanning_rank",
    "test_set",
    "train_adam",
    "train_gd",
    "training_set",
    "unit_directions",
]
