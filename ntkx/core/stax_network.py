r"""Bring your own network: any neural-tangents ``stax`` triple as an ntkx architecture.

:func:`from_stax` wraps an ``(init_fn, apply_fn, kernel_fn)`` triple built with
neural-tangents' ``stax`` combinators (Novak et al., ICLR 2020, arXiv 1912.02803)
into a :class:`StaxNetwork`, which implements the architecture protocol
(:mod:`ntkx.core.protocol`). It then works everywhere an ntkx spec works:
:func:`ntkx.kernel` (closed form, Monte Carlo, empirical), the solvers
(:func:`ntkx.kernel_regression`, :func:`ntkx.gradient_flow`,
:func:`ntkx.nngp_posterior`), finite training (:func:`ntkx.train_gd`,
:func:`ntkx.train_adam`: every parameter is trained) and the metrics
(:func:`ntkx.directional_linearity`, ...). Inputs are ``(n, d)`` arrays.

Import neural-tangents through ntkx (``import ntkx`` first, or
``ntkx._compat.neural_tangents()``): it needs ntkx's compatibility shim on current jax.

Example:
    >>> import numpy as np, ntkx
    >>> from ntkx._compat import neural_tangents
    >>> stax = neural_tangents().stax
    >>> net = ntkx.from_stax(*stax.serial(stax.Dense(512), stax.Relu(), stax.Dense(1)), width=512)
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> bool(np.allclose(ntkx.kernel(net, x, dtype="float64"),
    ...                  ntkx.kernel(ntkx.mlp(), x, dtype="float64")))
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
from jaxtyping import Array, Float, PRNGKeyArray

from ntkx.core.protocol import Architecture, KernelPair, Params, check_key, checked_apply
from ntkx.core.validation import as_inputs, check_positive_int

__all__ = ["StaxNetwork", "from_stax"]


@dataclasses.dataclass(frozen=True, eq=True)
class StaxNetwork(Architecture):
    """A user network given as a neural-tangents ``stax`` triple (final class).

    Attributes:
        init_fn: ``init_fn(key, input_shape) -> (output_shape, params)``.
        apply_fn: ``apply_fn(params, x) -> (n, out_dim)``.
        kernel_fn: ``kernel_fn(x1, x2, get)`` with neural-tangents' conventions.
        width: the hidden width of the finite network (reported by Monte Carlo kernels;
            ``0`` if unknown).
        name: a label for reports.

    Two specs are equal when they hold the same function objects.
    """

    init_fn: Callable
    apply_fn: Callable
    kernel_fn_: Callable
    width: int = 0
    name: str = "stax network"

    def __post_init__(self) -> None:
        for field in ("init_fn", "apply_fn", "kernel_fn_"):
            value = getattr(self, field)
            if not callable(value):
                raise TypeError(
                    f"{field.rstrip('_')}={value!r} is not callable; expected the functions of a "
                    "neural-tangents stax triple (init_fn, apply_fn, kernel_fn)."
                )
        if self.width != 0:
            object.__setattr__(self, "width", check_positive_int("width", self.width))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("StaxNetwork is final; compose stax layers instead of subclassing.")

    @property
    def out_dim(self) -> int:  # type: ignore[override]
        """Outputs of the finite network (read from ``init_fn``'s output shape)."""
        return int(self.init_fn(jax.random.key(0), (-1, 1))[0][-1])

    def init(self, key: PRNGKeyArray, input_dim: int) -> Params:
        input_dim = check_positive_int("input_dim", input_dim)
        check_key("key", key)
        return self.init_fn(key, (-1, input_dim))[1]

    @checked_apply
    def apply(self, params: Params, x: Float[Array, "n d"]) -> Float[Array, "n out"]:
        return self.apply_fn(params, x)

    def kernel_fn(self, x1: Float[Array, "n1 d"], x2: Float[Array, "n2 d"]) -> KernelPair:
        k = self.kernel_fn_(x1, x2, ("ntk", "nngp"))
        return KernelPair(ntk=k.ntk, nngp=k.nngp)

    def check_inputs(self, name: str, x: Any, dim: int | None = None) -> Any:
        return as_inputs(name, x, dim=dim)


def from_stax(
    init_fn: Callable,
    apply_fn: Callable,
    kernel_fn: Callable,
    *,
    width: int = 0,
    name: str = "stax network",
) -> StaxNetwork:
    """An ntkx architecture from a neural-tangents ``stax`` triple (see the module docstring).

    Args:
        init_fn, apply_fn, kernel_fn: the triple, e.g. ``stax.serial(...)``.
        width: hidden width of the finite network, for Monte Carlo reports (0: unknown).
        name: a label for reports.
    """
    return StaxNetwork(init_fn, apply_fn, kernel_fn, width=width, name=name)
