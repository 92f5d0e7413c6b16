r"""Lemma 1 (arXiv 2009.11848): exact linear extrapolation from an orthogonal basis and negatives.

Claim (Xu et al., ICLR 2021, Lemma 1). Let the target be linear,
:math:`g(x) = \beta^\top x`, and let the training inputs contain an orthogonal
basis :math:`\{x_i\}_{i=1}^d` of :math:`\mathbb{R}^d` and their negatives
:math:`\{-x_i\}`. Then the predictor of the infinitely wide two-layer ReLU MLP
(bias-free) trained by gradient descent on the squared loss to convergence
(the ridge-free NTK regression) equals :math:`\beta^\top x` on all of
:math:`\mathbb{R}^d`.

What is measured (``ntkx.mlp``, ``ntkx.core.solvers.kernel_regression``, float64),
with the paper's Lemma 1 setting: basis :math:`r Q (\pm e_i)`, ``r = 5``,
``Q`` a random rotation (QR of a Gaussian matrix), :math:`\beta \sim U[-20, 20]^d`,
``d = 32`` (``d = 8`` with ``--quick``); test points in the ball of radius 20
and at radius 1000:

* ``lemma1.exact``: the largest relative error
  :math:`\max |f - g| / \max |g|` over the test points, for the NTK with all
  layers trained, the first-layer-only NTK (the kernel of the paper's code),
  ``W_std = sqrt(2)``, and the basis set with 20 extra random training points
  (still exact: :math:`g` is the minimum-RKHS-norm interpolant of the basis set and
  interpolates the extra points, so it stays the minimum-norm interpolant).
  Must be below ``1e-8``.
* ``lemma1.bias_breaks_exactness`` (informative counterexample): with a bias
  (``b_std = 1``) the same relative error is large (the paper's notes measured
  about 0.16); it must exceed ``1e-3``.
* ``lemma1.negatives_needed`` (the assumption matters): with the basis but
  without its negatives the error is also large; it must exceed ``1e-3``.
"""

from __future__ import annotations

import numpy as np

from proofs_check._framework import CheckResult, Criterion, criteria

__all__ = ["CRITERIA", "check"]

CLAIM = "Lemma 1"

#: Lemma 1's pass/fail rules (used by :func:`check` and by ``examples/``).
CRITERIA = criteria(
    Criterion(
        CLAIM,
        "lemma1.exact",
        1e-8,
        "<",
        "Lemma 1 is an exact identity, so only float64 round-off of the solve and the kernel "
        "sums remains (measured ~1e-15); 1e-8 is the issue's bound",
    ),
    Criterion(
        CLAIM,
        "lemma1.bias_breaks_exactness",
        1e-3,
        ">",
        "with bias the linear function is no longer the minimum-norm interpolant; an error "
        "1e10 times the round-off level shows exactness is genuinely lost",
    ),
    Criterion(
        CLAIM,
        "lemma1.negatives_needed",
        1e-3,
        ">",
        "without the negatives Lemma 1's assumption fails; an error far above round-off shows "
        "the assumption is needed, not just sufficient in the proof",
    ),
)


def _relative_error(
    net: object, x_train: np.ndarray, beta: np.ndarray, x_test: np.ndarray
) -> float:
    from ntkx.core.solvers import kernel_regression

    model = kernel_regression(net, x_train, x_train @ beta, dtype="float64")
    g = x_test @ beta
    return float(np.max(np.abs(model.predict(x_test) - g)) / np.max(np.abs(g)))


def check(quick: bool, seed: int) -> list[CheckResult]:
    """Measure Lemma 1 and its counterexamples (see the module docstring)."""
    from ntkx.feedforward.mlp import mlp

    rng = np.random.default_rng(seed)
    d = 8 if quick else 32
    radius, test_radius, coef_range = 5.0, 20.0, 20.0
    n_test = 500 if quick else 5000
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    basis = radius * q.T  # rows: an orthogonal basis with norms r
    x_train = np.concatenate([basis, -basis])
    extra = rng.uniform(-radius, radius, size=(20, d))
    beta = rng.uniform(-coef_range, coef_range, size=d)
    directions = rng.normal(size=(n_test, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    ball = directions * test_radius * rng.uniform(0, 1, size=(n_test, 1)) ** (1 / d)
    x_test = np.concatenate([ball, 1000.0 * directions[: n_test // 5]])

    exact_cases = {
        "all layers": (mlp(), x_train),
        "first layer only (official code's kernel)": (mlp(trainable="first"), x_train),
        "all layers, W_std = sqrt(2)": (mlp(W_std=np.sqrt(2.0)), x_train),
        "all layers, basis + 20 random points": (mlp(), np.concatenate([x_train, extra])),
    }
    exact = {k: _relative_error(net, xt, beta, x_test) for k, (net, xt) in exact_cases.items()}
    with_bias = {
        f"b_std={b}": _relative_error(mlp(b_std=b), x_train, beta, x_test) for b in (1.0, 0.1)
    }
    no_negatives = _relative_error(mlp(), basis, beta, x_test)
    setting = (
        f"d={d}, basis radius {radius}, beta ~ U[-{coef_range}, {coef_range}]^d, "
        f"{x_test.shape[0]} test points (ball radius {test_radius} and radius 1000)"
    )
    return [
        CRITERIA["lemma1.exact"].judge(
            max(exact.values()),
            seed=seed,
            description=f"bias-free two-layer ReLU NTK predictor vs beta^T x: max relative "
            f"error over {len(exact)} variants ({setting})",
            details={"relative_errors": exact},
        ),
        CRITERIA["lemma1.bias_breaks_exactness"].judge(
            min(with_bias.values()),
            seed=seed,
            description="counterexample: the same set with a bias term (b_std in {1, 0.1}): "
            "smallest relative error",
            details={"relative_errors": with_bias},
        ),
        CRITERIA["lemma1.negatives_needed"].judge(
            no_negatives,
            seed=seed,
            description="assumption check: the basis without its negatives (bias-free): "
            "relative error",
        ),
    ]
