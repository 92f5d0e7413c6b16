"""The core every architecture shares: protocol, kernel engine, solvers, training, numerics.

* :mod:`ntkx.core.protocol` — what an architecture provides (``init``, ``apply``,
  ``kernel_fn``, ``check_inputs``) and the batch helpers;
* :mod:`ntkx.core.kernels` — the kernel engine (:func:`ntkx.kernel`): tiling, memory,
  Monte Carlo, empirical kernels;
* :mod:`ntkx.core.solvers` — kernel regression, gradient flow, NNGP posterior;
* :mod:`ntkx.core.iterative` — matrix-free kernel regression: preconditioned conjugate
  gradients over kernel tiles sharded across jax devices;
* :mod:`ntkx.core.training` — finite networks trained by gradient descent or Adam;
* :mod:`ntkx.core.stax_network` — any neural-tangents ``stax`` network as an architecture;
* :mod:`ntkx.core.numerics`, :mod:`ntkx.core.validation` — dtypes, precision, memory, checks.
"""
