"""The ``graph`` experiment (ntkx.graphs.experiment) on the runner, its CLI and the graph MAPE."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import networkx as nx
import numpy as np
import pytest

import ntkx
import ntkx.graphs.experiment as graph_module
from ntkx.graphs.experiment import GraphConfig, graph_main, run_graph_experiment
from ntkx.graphs.experiment import _mape as mape

PNG = b"\x89PNG\r\n\x1a\n"
#: The quick max-degree kernel run (the interrupt test reuses its shapes, so its compiled kernels).
QUICK_KERNEL = ["--task", "max_degree", "--method", "kernel", "--quick"]
QUICK_KERNEL += ["--test-families", "general", "tree", "--quiet"]


def test_mape_hand_values() -> None:
    # |2-1|/2 = 50%, |4-5|/4 = 25%: mean 37.5% (the paper's graph code averages, not median).
    assert mape([2.0, 4.0], [1.0, 5.0]) == pytest.approx(37.5)
    with pytest.raises(ValueError, match="percentage errors divide by the label"):
        mape([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="non-finite"):
        mape([1.0], [np.nan])


@pytest.mark.parametrize(
    ("task", "method"), [("max_degree", "kernel"), ("shortest_path", "finite")]
)
def test_graph_main_quick_writes_result_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str, method: str
) -> None:
    out = tmp_path / task
    argv = [*QUICK_KERNEL, "--task", task, "--method", method, "--out", str(out)]
    assert graph_main(argv) == 0
    assert capsys.readouterr().out == f"ntkx graph: wrote {out / 'result.json'}\n"
    # shortest path tests one axis at a time too (test weights differ from training weights)
    axes = ["test_sets.png"] if task == "shortest_path" else []
    # finite networks leave their trained state, one file per (seed, model), in checkpoints/
    kept = ["checkpoints"] if method == "finite" else []
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["error_vs_size.png", "per_family.png", "result.json", *axes, *kept]
    )
    res = json.loads((out / "result.json").read_text())
    assert res["experiment"] == "graph" and res["interrupted"] is False
    ckpts = {k: v for k, v in res["files"].items() if k.startswith("checkpoint seed 0 ")}
    assert res["files"] == {
        "json": "result.json",
        "error_vs_size": "error_vs_size.png",
        "per_family": "per_family.png",
        **({"test_sets": "test_sets.png"} if axes else {}),
        **ckpts,
    }
    assert len(ckpts) == (2 if kept else 0)  # min-agg and sum-agg
    for path in ckpts.values():
        assert path.startswith("checkpoints/seed0_") and (out / path).is_file()
    for name in ("error_vs_size.png", "per_family.png"):
        png = (out / name).read_bytes()
        assert png[:8] == PNG and len(png) > 10_000
    assert set(res["timings"]) == {"data_s", f"{method}_s", "plot_s", "total_s"}
    assert res["seeds"] == [{"field": "n_seeds", "value": [0]}]
    # the recorded config holds the values used: --quick sizes, task defaults
    c = res["config"]
    assert (c["task"], c["method"], c["quick"], c["n_seeds"]) == (task, method, True, 1)
    assert (c["n_train"], c["n_test"], c["width"], c["epochs"], c["mc_samples"]) == (
        24,
        6,
        16,
        3,
        2,
    )
    assert (c["train_sizes"], c["test_sizes"]) == ([6, 8], [[10, 12]])
    assert c["test_families"] == ["general", "tree"] and c["train_families"] == ["general"]
    m = res["metrics"]
    assert (m["task"], m["method"], m["size_family"]) == (task, method, "general")
    assert (m["size_bins"], m["family_bin"], m["families"]) == (
        [[10, 12]],
        [10, 12],
        c["test_families"],
    )
    for entry in m["architectures"].values():
        assert len(entry["size_mape"]) == len(entry["family_mape"]) == len(entry["train_mape"]) == 1
        assert entry["size_mape_mean"] == entry["size_mape"][0]  # one seed: mean = the seed
        assert entry["family_mape_mean"] == entry["family_mape"][0]
        assert entry["train_mape_mean"] == entry["train_mape"][0]
        assert len(entry["size_mape_mean"]) == 1 and len(entry["family_mape_mean"]) == 2
        assert all(np.isfinite(entry["size_mape_mean"] + entry["family_mape_mean"]))
    if task == "max_degree":
        assert (c["depth"], c["aggregations"], c["readouts"]) == (2, ["sum"], ["max", "sum"])
        assert (c["learning_rate"], c["batch_size"]) == (0.01, 64)
        assert set(m["architectures"]) == {"sum-agg/max-readout", "sum-agg/sum-readout"}
        # the same data (seed 0: default_rng(7)) and the same specs, fitted here directly
        rng = np.random.default_rng(7)
        train = ntkx.max_degree_dataset(24, ["general"], 6, 8, seed=rng)
        tests = [ntkx.max_degree_dataset(6, [f], 10, 12, seed=rng) for f in ("general",) * 2]
        tests.append(ntkx.max_degree_dataset(6, ["tree"], 10, 12, seed=rng))
        assert m["spanning_rank"] == [ntkx.spanning_rank(train.graphs).rank]
        mx, sm = (
            m["architectures"]["sum-agg/max-readout"],
            m["architectures"]["sum-agg/sum-readout"],
        )
        assert (mx["kernel_method"], sm["kernel_method"]) == ("monte_carlo", "closed_form")
        assert (mx["solve"][0]["n_samples"], sm["solve"][0]["n_samples"]) == (2, 0)
        assert mx["solve"][0]["kernel_method"] == "monte_carlo"
        assert mx["solve"][0]["n_train"] == 24 and mx["solve"][0]["kernel_rel_stderr"] > 0
        # ridge-free kernel regression interpolates its training graphs where the kernel
        # separates them; the 2-layer sum-readout kernel of identical-feature graphs does not
        # quite (eigh-pinv path, 1.7% measured), so its train MAPE is checked below against a
        # direct fit instead
        assert mx["train_mape"][0] < 1e-3
        for entry, readout, kernel in ((mx, "max", "monte_carlo"), (sm, "sum", "closed_form")):
            net = ntkx.gnn(2, "sum", readout, 16, b_std=0.1)
            model = ntkx.kernel_regression(
                net, train.batch, train.labels, method=kernel, key=jax.random.key(0),
                n_samples=2, dtype="float64",
            )  # fmt: skip
            mapes = [ntkx.mape_mean(t.labels, model.predict(t.batch)) for t in tests]
            fit = ntkx.mape_mean(train.labels, model.predict(train.batch))
            assert entry["train_mape"] == [pytest.approx(fit, rel=1e-6, abs=1e-9)]
            assert entry["size_mape"] == [[pytest.approx(mapes[0], rel=1e-9)]]
            assert entry["family_mape"] == [pytest.approx(mapes[1:], rel=1e-9)]
            assert entry["solve"][0]["path"] == model.diagnostics.path
    else:
        assert (c["depth"], c["aggregations"], c["readouts"]) == (3, ["min", "sum"], ["min"])
        assert (c["learning_rate"], c["batch_size"], c["test_weight_range"]) == (0.005, 32, [1, 10])
        assert set(m["architectures"]) == {"min-agg/min-readout", "sum-agg/min-readout"}
        assert m["spanning_rank"] is None
        for entry in m["architectures"].values():
            assert entry["kernel_method"] is None and "solve" not in entry
            assert len(entry["final_loss"]) == 1 and entry["final_loss"][0] > 0


def test_interrupt_keeps_finished_architectures(tmp_path: Path, monkeypatch: Any) -> None:
    calls = []
    real = graph_module._fit_kernel

    def fit_then_interrupt(*args: Any) -> Any:
        calls.append(args[1].readout)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(graph_module, "_fit_kernel", fit_then_interrupt)
    argv = [*QUICK_KERNEL, "--readouts", "sum", "mean", "--epochs", "5", "--out", str(tmp_path)]
    assert graph_main(argv) == 130
    res = json.loads((tmp_path / "result.json").read_text())
    # an explicit flag wins over --quick (quick epochs: 3); the rest take the quick sizes
    assert (res["config"]["epochs"], res["config"]["n_train"]) == (5, 24)
    assert res["interrupted"] is True and res["files"] == {"json": "result.json"}
    archs = res["metrics"]["architectures"]
    assert calls == ["sum", "mean"]
    done, cut = archs["sum-agg/sum-readout"], archs["sum-agg/mean-readout"]
    assert len(done["size_mape"]) == 1 and len(done["solve"]) == 1
    assert cut["size_mape"] == [] and cut["train_mape"] == []
    assert "size_mape_mean" not in done  # the summary is only computed at the end
    assert len(res["metrics"]["spanning_rank"]) == 1
    # --resume fits only the unfinished model; the record equals an uninterrupted run's
    calls.clear()
    monkeypatch.setattr(graph_module, "_fit_kernel", lambda *a: calls.append(1) or real(*a))
    assert graph_main([*argv, "--resume", "--quiet"]) == 0
    assert len(calls) == 1
    resumed = json.loads((tmp_path / "result.json").read_text())
    assert graph_main([*argv[:-1], str(tmp_path / "whole"), "--quiet"]) == 0
    whole = json.loads((tmp_path / "whole" / "result.json").read_text())
    drop = ("timings", "files")
    assert resumed["interrupted"] is False
    assert {k: v for k, v in resumed.items() if k not in drop} == {
        k: v for k, v in whole.items() if k not in drop
    }


def test_interrupted_training_resumes_from_its_checkpoint(tmp_path: Path, monkeypatch: Any) -> None:
    """Ctrl-C inside a finite network's training keeps its last checkpoint (every 2 epochs);
    --resume continues from it (not from epoch 0) and ends with the uninterrupted record."""
    real = graph_module.train_adam
    argv = ["--task", "max_degree", "--method", "finite", "--quick", "--readouts", "sum"]
    argv += ["--epochs", "6", "--checkpoint-every", "2", "--quiet", "--out"]

    def cut_in_epoch_5(*args: Any, **kw: Any) -> Any:
        real(*args, **dict(kw, epochs=4))  # checkpoints at epochs 2 and 4
        with np.load(kw["checkpoint"]) as f:  # what a Ctrl-C during epoch 5 leaves
            assert json.loads(str(f["meta"]))["epoch"] == 4
        raise KeyboardInterrupt

    monkeypatch.setattr(graph_module, "train_adam", cut_in_epoch_5)
    cut = tmp_path / "cut"
    assert graph_main([*argv, str(cut)]) == 130
    (ckpt,) = (cut / "checkpoints").iterdir()
    assert ckpt.name.startswith("seed0_sum-agg_sum-readout_") and ckpt.suffix == ".npz"
    # mark the kept losses: a resumed run returns them as its first 4; a restart would not
    with np.load(ckpt) as f:
        arrays = dict(f)
    arrays["losses"] = -np.arange(1.0, 5.0)
    np.savez(ckpt, **arrays)
    seen: list[Any] = []

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append((kw["resume"], real(*args, **kw)))
        return seen[-1][1]

    monkeypatch.setattr(graph_module, "train_adam", spy)
    assert graph_main([*argv, str(cut), "--resume"]) == 0
    assert graph_main([*argv, str(tmp_path / "whole")]) == 0
    (resume, resumed), (fresh, whole) = seen
    assert resume == ckpt and fresh is None  # a run without --resume starts afresh
    np.testing.assert_array_equal(resumed.losses[:4], -np.arange(1.0, 5.0))
    # epochs 5-6 from the epoch-4 state: bit for bit the uninterrupted run's (same batches)
    np.testing.assert_array_equal(resumed.losses[4:], whole.losses[4:])
    for a, b in zip(jax.tree.leaves(resumed.params), jax.tree.leaves(whole.params), strict=True):
        np.testing.assert_array_equal(a, b)
    rec_cut, rec_whole = (
        json.loads((d / "result.json").read_text()) for d in (cut, tmp_path / "whole")
    )
    assert rec_cut["interrupted"] is False
    arch = "sum-agg/sum-readout"
    assert (
        rec_cut["metrics"]["architectures"][arch]["size_mape"]
        == (rec_whole["metrics"]["architectures"][arch]["size_mape"])
    )


def test_config_resolves_defaults_and_quick_fills_only_unset_fields() -> None:
    d = GraphConfig()
    assert (d.n_train, d.n_test, d.width, d.epochs, d.mc_samples) == (200, 40, 64, 100, 8)
    assert (d.depth, d.aggregations, d.readouts) == (2, ("sum",), ("max", "sum"))
    assert d.test_sizes == ((20, 30), (30, 50), (50, 75), (75, 100))
    sp = GraphConfig(task="shortest_path")
    assert (sp.depth, sp.aggregations, sp.readouts) == (3, ("min", "sum"), ("min",))
    assert (sp.learning_rate, sp.batch_size, sp.test_weight_range) == (0.005, 32, (1.0, 10.0))
    assert sp.test_sizes == ((20, 30), (50, 75), (75, 100))
    q = GraphConfig(quick=True, n_train=50, width=8, test_sizes=((30, 40),))
    assert (q.n_train, q.width, q.test_sizes) == (50, 8, ((30, 40),))  # explicit values kept
    assert (q.n_test, q.epochs, q.mc_samples, q.train_sizes) == (6, 3, 2, (6, 8))
    assert dataclasses.replace(q, width=4).n_train == 50
    assert GraphConfig(test_sizes=(20, 30)).test_sizes == ((20, 30),)  # one (min, max) pair
    assert list(GraphConfig(aggregations=("sum", "max")).architecture_names()) == [
        "sum-agg/max-readout",
        "sum-agg/sum-readout",
        "max-agg/max-readout",
        "max-agg/sum-readout",
    ]
    net = sp.spec("min", "min")
    assert (net.depth, net.width, net.b_std, net.edge_weights) == (3, 64, 0.1, True)
    assert sp.kernel_method(net) == "monte_carlo"
    assert d.kernel_method(d.spec("sum", "sum")) == "closed_form"
    assert GraphConfig(monte_carlo=True).kernel_method(d.spec("sum", "sum")) == "monte_carlo"
    relu = GraphConfig(task="shortest_path", message_relu=True)
    assert relu.spec("sum", "sum").message_relu and not sp.spec("min", "min").message_relu
    assert relu.kernel_method(relu.spec("sum", "sum")) == "monte_carlo"  # no closed form


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "coloring"}, "task='coloring' is not allowed"),
        ({"method": "exact"}, "method='exact' is not allowed"),
        ({"aggregations": ("median",)}, "aggregations='median' is not allowed"),
        ({"test_families": ()}, r"test_families=\(\) is not allowed"),
        ({"train_sizes": (30, 20)}, r"train_sizes=\(30, 20\) is not allowed"),
        ({"test_sizes": ((10, 0),)}, r"test_sizes\[0\]\[1\]=0 is not allowed"),
        ({"weight_range": (5.0, 1.0)}, r"weight_range\[1\]=1.0 is not allowed"),
        ({"n_seeds": 0}, "n_seeds=0 is not allowed"),
        ({"ridge": -1.0}, "ridge=-1.0 is not allowed"),
        ({"train_families": ("4regular",), "train_sizes": (3, 4)}, "n_min=3"),
        ({"test_families": ("general", "cycle"), "test_sizes": ((2, 3),)}, "'cycle'"),
        ({"arch": "gcn"}, "arch='gcn' is not allowed"),
        ({"arch": "gin", "task": "shortest_path"}, "arch='gin' is not allowed with task="),
        ({"arch": "gin", "mlp_depth": 0}, "mlp_depth=0 is not allowed"),
        ({"l1": -0.1}, r"l1=-0.1 is not allowed"),
        ({"l1": float("nan")}, r"l1=nan is not allowed"),
        ({"l1": 0.1, "method": "kernel"}, r"l1=0.1 is not allowed with method='kernel'"),
        ({"l1_method": "lasso"}, r"l1_method='lasso' is not allowed"),
        ({"eval_batch": -1}, r"eval_batch=-1 is not allowed"),
        ({"eval_batch": 1.5}, r"eval_batch=1.5 is not allowed"),
        ({"checkpoint_every": -2}, r"checkpoint_every=-2 is not allowed"),
        ({"message_relu": "yes"}, r"message_relu='yes' is not allowed"),
        ({"message_relu": True, "arch": "gin"}, r"message_relu=True is not allowed with arch="),
    ],
)
def test_config_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GraphConfig(**kwargs)


def test_graph_main_help_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert graph_main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--n-seeds", "--quick", "--test-sizes", "--depth", "--mc-samples", "--out"):
        assert flag in text, flag
    assert graph_main(["--task", "coloring", "--out", str(tmp_path)]) == 2
    assert "ntkx graph: error: task='coloring' is not allowed" in capsys.readouterr().err
    argv = ["--quick", "--train-sizes", "3", "4", "--train-families", "4regular"]
    assert graph_main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "n_min=3" in err and "Traceback" not in err
    assert graph_main(["--layers", "2", "--out", str(tmp_path)]) == 2  # renamed to --depth
    assert graph_main(["--seeds", "2", "--out", str(tmp_path)]) == 2  # renamed to --n-seeds
    assert list(tmp_path.iterdir()) == []


def test_run_graph_experiment_without_out_dir_rejects_wrong_config() -> None:
    with pytest.raises(ValueError, match="expected a GraphConfig"):
        run_graph_experiment({"task": "max_degree"}, progress=False)  # type: ignore[arg-type]


def test_graph_main_gin_arch(tmp_path: Path) -> None:
    """``--arch gin`` builds ``ntkx.gin(depth, mlp_depth, ...)``: the recorded sum-readout errors
    equal a direct closed-form fit of that spec on the same data (seed 0: default_rng(7))."""
    out = tmp_path / "gin"
    argv = [*QUICK_KERNEL, "--arch", "gin", "--depth", "1", "--mlp-depth", "3", "--out", str(out)]
    assert graph_main(argv) == 0
    res = json.loads((out / "result.json").read_text())
    assert (res["config"]["arch"], res["config"]["mlp_depth"], res["metrics"]["arch"]) == (
        "gin",
        3,
        "gin",
    )
    rng = np.random.default_rng(7)
    train = ntkx.max_degree_dataset(24, ["general"], 6, 8, seed=rng)
    test = ntkx.max_degree_dataset(6, ["general"], 10, 12, seed=rng)
    model = ntkx.kernel_regression(
        ntkx.gin(1, 3, "sum", "sum", 16, b_std=0.1), train.batch, train.labels, dtype="float64"
    )
    entry = res["metrics"]["architectures"]["sum-agg/sum-readout"]
    assert entry["kernel_method"] == "closed_form"
    want = ntkx.mape_mean(test.labels, model.predict(test.batch))
    assert entry["size_mape"] == [[pytest.approx(want, rel=1e-9)]]
    assert res["metrics"]["architectures"]["sum-agg/max-readout"]["kernel_method"] == "monte_carlo"


def test_graph_main_reads_graph_files_and_separates_axes(tmp_path: Path, monkeypatch: Any) -> None:
    """--train-graphs/--test-graphs: the training set is the file's graphs (weights kept), the
    test file is one more test set; the axis sets vary one axis each (checked on the data the
    networks were tested on)."""
    rng = np.random.default_rng(0)
    train = [ntkx.sample_graph("general", int(n), rng) for n in rng.integers(6, 9, 16)]
    for g in train:  # weights 2.0 in the file: kept (not drawn from weight_range)
        nx.set_edge_attributes(g, 2.0, "weight")
    ntkx.write_graphs(tmp_path / "train.graphml", train)
    ntkx.write_graphs(tmp_path / "test.g6", [nx.path_graph(12), nx.cycle_graph(9)])
    seen: dict[str, Any] = {}
    real = graph_module._fit_finite

    def spy(config: Any, net: Any, train_data: Any, tests: list, *rest: Any) -> Any:
        seen["train"], seen["tests"] = train_data, tests
        return real(config, net, train_data, tests, *rest)

    monkeypatch.setattr(graph_module, "_fit_finite", spy)
    out = tmp_path / "run"
    argv = ["--task", "shortest_path", "--quick", "--aggregations", "min", "--quiet"]
    argv += ["--train-graphs", str(tmp_path / "train.graphml"), "--test-graphs"]
    argv += [str(tmp_path / "test.g6"), "--out", str(out)]
    assert graph_main(argv) == 0
    res = json.loads((out / "result.json").read_text())
    c, m = res["config"], res["metrics"]
    sizes = [g.number_of_nodes() for g in train]
    assert (c["n_train"], c["train_sizes"]) == (16, [min(sizes), max(sizes)])
    assert m["train_source"] == f"file:{tmp_path / 'train.graphml'}"
    assert m["train_set"]["weights"] == [2.0, 2.0] and m["train_set"]["graphs"] == 16
    np.testing.assert_array_equal(np.unique(seen["train"].batch.adjacency), [0.0, 2.0])
    # tests = size bins (1), families (1), then in_distribution, weights_only, sizes_only, file
    *_, ind, wonly, sonly, file_set = seen["tests"]
    lo, hi = c["train_sizes"]
    blo, bhi = c["test_sizes"][-1]
    for data, (nlo, nhi), (wlo, whi) in (
        (ind, (lo, hi), (1, 5)), (wonly, (lo, hi), (1, 10)), (sonly, (blo, bhi), (1, 5)),
    ):  # fmt: skip
        n = data.batch.num_nodes
        w = np.asarray(data.batch.adjacency)
        w = w[w > 0]
        assert n.min() >= nlo and n.max() <= nhi and w.min() >= wlo and w.max() <= whi
    assert w.max() <= 5 and np.asarray(wonly.batch.adjacency).max() > 5  # the axis varied
    assert sorted(file_set.batch.num_nodes.tolist()) == [9, 12]
    assert list(m["test_sets"]) == sorted(
        ["in_distribution", "weights_only", "sizes_only 10-12", "both 10-12", "test_graphs"]
    )
    assert m["test_sets"]["test_graphs"]["nodes"] == [9, 12]
    entry = m["architectures"]["min-agg/min-readout"]
    assert entry["test_set_mape"][0]["both 10-12"] == entry["size_mape"][0][-1]
    assert set(entry["test_set_mape_mean"]) == set(m["test_sets"])
    # bad files and conflicting flags: usage errors (exit 2), nothing run
    bad = [*argv[:-2], "--out", str(tmp_path / "bad")]
    assert graph_main([*bad, "--n-train", "5"]) == 2
    (tmp_path / "x.txt").write_text("0 1\n")
    bad_file = [a if a != str(tmp_path / "test.g6") else str(tmp_path / "x.txt") for a in bad]
    assert graph_main(bad_file) == 2
    assert not (tmp_path / "bad").exists()


def test_run_graph_experiment_on_custom_datasets() -> None:
    """In-memory custom data: the recorded errors equal a direct fit of the same spec."""
    train = ntkx.max_degree_dataset(graphs=[nx.star_graph(k) for k in range(2, 10)])
    stars = ntkx.max_degree_dataset(graphs=[nx.star_graph(k) for k in (12, 15)])
    config = GraphConfig(quick=True, method="kernel", readouts=("sum",))
    rec = run_graph_experiment(config, progress=False, train=train, tests={"big": stars})
    m = rec["metrics"]
    assert m["train_source"] == "data" and m["train_set"]["nodes"] == [3, 10]
    assert m["test_sets"]["big"]["graphs"] == 2 and m["test_sets"]["big"]["source"] == "data"
    model = ntkx.kernel_regression(
        ntkx.gnn(2, "sum", "sum", 16, b_std=0.1), train.batch, train.labels, dtype="float64"
    )
    entry = m["architectures"]["sum-agg/sum-readout"]
    want = ntkx.mape_mean(stars.labels, model.predict(stars.batch))
    assert entry["test_set_mape"] == [{"big": pytest.approx(want, rel=1e-9)}]
    with pytest.raises(ValueError, match="data\\['tests'\\]\\['x'\\] has type list"):
        run_graph_experiment(config, progress=False, tests={"x": [1]})


def test_normalize_and_init_scale_by_hand() -> None:
    """--normalize: shortest path divides node feature 0 by 5 and weights and labels by the
    largest training weight; max degree standardizes the labels (hand values)."""
    g = nx.Graph()
    g.add_weighted_edges_from([(0, 1, 2.0), (1, 2, 4.0)])
    g.graph.update(source=0, target=2)
    sp = ntkx.shortest_path_dataset(graphs=[g], seed=0)
    config = GraphConfig(task="shortest_path", normalize=True)
    inputs, shift, scale = graph_module._normalizer(config, sp)
    assert (shift, scale) == (0.0, 4.0)  # the largest training weight
    out = inputs(sp.batch)
    np.testing.assert_allclose(out.adjacency[0], [[0, 0.5, 0], [0.5, 0, 1.0], [0, 1.0, 0]])
    np.testing.assert_allclose(out.features[0, :, 0], np.asarray(sp.batch.features)[0, :, 0] / 5)
    np.testing.assert_array_equal(out.features[0, :, 1:], sp.batch.features[0, :, 1:])
    # labels 2, 4, 6: mean 4, population standard deviation sqrt(8 / 3)
    md = ntkx.max_degree_dataset(graphs=[nx.star_graph(k) for k in (2, 4, 6)])
    inputs, shift, scale = graph_module._normalizer(GraphConfig(normalize=True), md)
    assert inputs(md.batch) is md.batch
    assert shift == 4.0 and scale == pytest.approx(np.sqrt(8 / 3), rel=1e-15)
    # all labels equal: std 0 is replaced by 1 (no division by zero)
    same = ntkx.max_degree_dataset(graphs=[nx.star_graph(3), nx.star_graph(3)])
    assert graph_module._normalizer(GraphConfig(normalize=True), same)[1:] == (3.0, 1.0)
    assert graph_module._normalizer(GraphConfig(), md)[1:] == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"init_scale=0\.0 is not allowed"):
        GraphConfig(init_scale=0.0)


@pytest.mark.parametrize("name", ["PAPER_SCALE", "SPARSE_RECIPE"])
def test_shortest_path_recipes_are_configs(name: str) -> None:
    """PAPER_SCALE and SPARSE_RECIPE are GraphConfig fields that keep their values."""
    recipe = getattr(graph_module, name)
    config = GraphConfig(task="shortest_path", **recipe)
    for field, value in recipe.items():
        assert getattr(config, field) == value


@pytest.mark.parametrize("task", ["max_degree", "shortest_path"])
def test_fit_recipes_are_configs(task: str) -> None:
    """Every FIT_RECIPES entry is a GraphConfig field that keeps its value (a renamed field or a
    value the validation rewrites would break the documented recipe)."""
    config = GraphConfig(task=task, quick=True, **graph_module.FIT_RECIPES[task])
    for field, value in graph_module.FIT_RECIPES[task].items():
        assert getattr(config, field) == value


def test_feature_scale_and_weight_decay_reach_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    """--feature-scale c: Adam sees node features equal to c on every real node (identical
    features are 1, a hand value) and 0 on padding; --weight-decay reaches Adam unchanged; both
    are recorded in the config. Bad values name the field."""
    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake_adam(net: Any, params: Any, batch: Any, labels: Any, **kw: Any) -> Any:
        seen.update(batch=batch, **kw)
        raise Stop

    monkeypatch.setattr(graph_module, "train_adam", fake_adam)
    config = GraphConfig(quick=True, readouts=("max",), feature_scale=10.0, weight_decay=3e-4)
    train = ntkx.max_degree_dataset(graphs=[nx.star_graph(3), nx.path_graph(2)])
    with pytest.raises(Stop):
        graph_module._fit_finite(
            config, config.spec("sum", "max"), train, [], jax.random.key(0), False
        )
    mask = np.asarray(train.batch.mask, bool)
    feats = np.asarray(seen["batch"].features)[..., 0]
    np.testing.assert_array_equal(feats[mask], 10.0)
    np.testing.assert_array_equal(feats[~mask], 0.0)
    assert seen["weight_decay"] == 3e-4
    np.testing.assert_array_equal(seen["batch"].adjacency, train.batch.adjacency)
    assert GraphConfig().weight_decay == 1e-5 and GraphConfig().feature_scale == 1.0  # the paper
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"feature_scale=.* is not allowed"):
            GraphConfig(feature_scale=bad)
    with pytest.raises(ValueError, match=r"weight_decay=-1\.0 is not allowed"):
        GraphConfig(weight_decay=-1.0)
    with pytest.raises(ValueError, match=r"feature_scale=2\.0 is not allowed with task='shortest"):
        GraphConfig(task="shortest_path", feature_scale=2.0)


def test_l1_and_eval_batch_reach_train_adam_and_the_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fast plumbing check (no training compiled): the experiment hands train_adam l1 and a
    mask with every message-MLP parameter on and the readout off (written out by hand here);
    the record keeps both values; predicting one graph per pass (eval_batch=1) gives the
    numbers of one pass over the whole set (net.apply by hand). train_adam's L1 arithmetic is
    tested against numpy and optax in tests/test_training.py; the end-to-end run with real
    training is test_l1_trains_the_message_mlps_with_train_adam_and_is_recorded (slow)."""
    assert graph_main(["--help"]) == 0
    assert "--l1" in capsys.readouterr().out
    bad = ["--task", "shortest_path", "--quick", "--l1", "-1", "--out", str(tmp_path)]
    assert graph_main(bad) == 2
    assert "l1=-1.0 is not allowed" in capsys.readouterr().err
    config = GraphConfig(
        task="shortest_path", quick=True, aggregations=("min",), l1=0.05, eval_batch=1,
        width=4, n_train=4, n_test=3, l1_method="proximal",
    )  # fmt: skip
    net = config.spec("min", "min")
    fixed = net.init(jax.random.key(3), 3)  # "trained" parameters: known, not the init's
    seen: dict[str, Any] = {}

    def fake_train_adam(net_: Any, params: Any, x: Any, y: Any, **kw: Any) -> Any:
        seen.update(kw, n_layers=len(params))
        return ntkx.TrainResult(params=fixed, losses=np.zeros(1))

    monkeypatch.setattr(graph_module, "train_adam", fake_train_adam)
    rec = run_graph_experiment(config, progress=False)
    assert rec["config"]["l1"] == 0.05 and rec["config"]["eval_batch"] == 1
    assert seen["l1"] == 0.05 and seen["n_layers"] == 7  # 3 message MLPs x 2 layers, readout
    assert seen["l1_method"] == rec["config"]["l1_method"] == "proximal"
    assert seen["l1_mask"] == [(True, True)] * 6 + [(False, False)]
    entry = rec["metrics"]["architectures"]["min-agg/min-readout"]
    apply = jax.jit(net.apply)  # the whole set in one pass
    rng = np.random.default_rng(7)  # seed 0's data as _run draws it: training set first
    train = ntkx.shortest_path_dataset(config.n_train, ["general"], *config.train_sizes, seed=rng)
    want = ntkx.mape_mean(train.labels, np.asarray(apply(fixed, train.batch))[:, 0])
    assert entry["train_mape"][0] == pytest.approx(want, rel=1e-5)  # float32 sums
    test = ntkx.shortest_path_dataset(
        config.n_test, ["general"], *config.test_sizes[0], weight_range=(1.0, 10.0), seed=rng
    )
    pred = np.asarray(apply(fixed, test.batch))[:, 0]
    assert entry["size_mape"][0][0] == pytest.approx(ntkx.mape_mean(test.labels, pred), rel=1e-5)


@pytest.mark.slow
def test_l1_trains_the_message_mlps_with_train_adam_and_is_recorded() -> None:
    """--l1 end to end (compiles two GNN trainings, ~10-30 s on 2 shared cores, so slow): the
    experiment's training is train_adam with l1 on every message-MLP parameter and none on
    the readout (reproduced here by hand with an explicit mask); the value is in the record;
    predicting one graph per pass (eval_batch=1) gives the single-pass numbers."""
    config = GraphConfig(
        task="shortest_path", quick=True, aggregations=("min",), l1=0.05, eval_batch=1
    )
    rec = run_graph_experiment(config, progress=False)
    assert rec["config"]["l1"] == 0.05 and rec["config"]["eval_batch"] == 1
    entry = rec["metrics"]["architectures"]["min-agg/min-readout"]
    net = config.spec("min", "min")
    # the data of seed 0 as _run draws it: the training set first from default_rng(7)
    rng = np.random.default_rng(7)
    train = ntkx.shortest_path_dataset(config.n_train, ["general"], *config.train_sizes, seed=rng)
    k_init, k_train = jax.random.split(jax.random.key(0))
    p0 = net.init(k_init, 3)
    assert len(p0) == 7  # 3 message MLPs of 2 dense layers, then the readout layer
    mask = [(True, True)] * 6 + [(False, False)]
    res = ntkx.train_adam(
        net, p0, train.batch, train.labels, key=k_train, learning_rate=config.learning_rate,
        epochs=config.epochs, batch_size=config.batch_size, weight_decay=1e-5,
        lr_halving_every=50, l1=0.05, l1_mask=mask,
    )  # fmt: skip
    want = ntkx.mape_mean(train.labels, np.asarray(net.apply(res.params, train.batch))[:, 0])
    assert entry["train_mape"][0] == pytest.approx(want, rel=1e-5)  # float32 training
    assert graph_module.message_mlp_mask(p0) == mask
    # eval_batch=1 (one graph per pass) against one pass over the whole test set by hand: the
    # first size bin is drawn next from the same generator
    test = ntkx.shortest_path_dataset(
        config.n_test, ["general"], *config.test_sizes[0], weight_range=(1.0, 10.0), seed=rng
    )
    pred = np.asarray(net.apply(res.params, test.batch))[:, 0]
    assert entry["size_mape"][0][0] == pytest.approx(ntkx.mape_mean(test.labels, pred), rel=1e-5)


def test_first_seed_runs_that_seed_alone() -> None:
    """first_seed=1, n_seeds=1 reproduces the second repetition of n_seeds=2 exactly (the same
    data, default_rng(1000 * 1 + 7), and the same kernel fit), and the record lists seed 1;
    bad values name the field."""
    small = dict(quick=True, method="kernel", readouts=("sum",), n_train=12, n_test=4)
    both = run_graph_experiment(GraphConfig(**small, n_seeds=2), progress=False)
    alone = run_graph_experiment(GraphConfig(**small, first_seed=1), progress=False)
    two = both["metrics"]["architectures"]["sum-agg/sum-readout"]
    one = alone["metrics"]["architectures"]["sum-agg/sum-readout"]
    assert len(two["train_mape"]) == 2 and two["train_mape"][0] != two["train_mape"][1]
    assert one["train_mape"] == two["train_mape"][1:]
    assert one["size_mape"] == two["size_mape"][1:]
    n_seeds = next(s for s in alone["seeds"] if s["field"] == "n_seeds")
    assert n_seeds["value"] == [1]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"first_seed=.* is not allowed"):
            GraphConfig(first_seed=bad)
