"""Graph networks and algorithmic tasks (Xu et al., ICLR 2021, Sections 4 and 5).

* :mod:`ntkx.graphs.batch` — :class:`ntkx.GraphBatch`, the input type of graph networks;
* :mod:`ntkx.graphs.sampling` — graph families, the max-degree and shortest-path tasks;
* :mod:`ntkx.graphs.message_passing` — the paper's per-edge message GNN (:func:`ntkx.gnn`);
* :mod:`ntkx.graphs.gin` — the aggregate-then-MLP GNN of Du et al. (:func:`ntkx.gin`);
* :mod:`ntkx.graphs.experiment` — the ``graph`` experiment (``ntkx graph``);
* :mod:`ntkx.graphs.nbody` — three bodies under gravity: simulation, features, test splits;
* :mod:`ntkx.graphs.interaction` — the interaction network (:func:`ntkx.interaction_network`);
* :mod:`ntkx.graphs.nbody_experiment` — the ``nbody`` experiment (``ntkx nbody``).
"""
