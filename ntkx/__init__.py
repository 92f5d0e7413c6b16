"""ntkx: neural tangent kernels and the theory of how neural networks extrapolate.

After Xu, Zhang, Li, Du, Kawarabayashi, Jegelka, "How Neural Networks
Extrapolate: From Feedforward to Graph Neural Networks", ICLR 2021
(arXiv 2009.11848).
"""

from ntkx import _compat  # noqa: F401  (patches jax for neural-tangents first)
from ntkx.architectures import ACTIVATIONS, MLP, Architecture, mlp
from ntkx.kernels import (
    InsufficientMemoryError,
    KernelEstimate,
    empirical_kernel,
    kernel,
    kernel_matrix,
    monte_carlo_kernel,
)
from ntkx.solvers import (
    KernelRegression,
    SolveDiagnostics,
    gradient_flow,
    kernel_regression,
    nngp_posterior,
    solve_kernel_system,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Architecture",
    "InsufficientMemoryError",
    "KernelEstimate",
    "KernelRegression",
    "SolveDiagnostics",
    "empirical_kernel",
    "gradient_flow",
    "kernel",
    "kernel_matrix",
    "kernel_regression",
    "mlp",
    "monte_carlo_kernel",
    "nngp_posterior",
    "solve_kernel_system",
]
