"""Feedforward networks and their extrapolation (Xu et al., ICLR 2021, Section 3).

* :mod:`ntkx.feedforward.mlp` — the MLP specification (:func:`ntkx.mlp`);
* :mod:`ntkx.feedforward.data` — targets, training geometries, test sets, rays;
* :mod:`ntkx.feedforward.experiment` — the ``curve`` experiment (``ntkx curve``);
* :mod:`ntkx.feedforward.demo` — ``ntkx demo``.
"""
