"""benchmarks/gpu.py (the one prepared GPU run) in ``--tiny`` mode on the CPU.

Every part must run and write its numbers to the JSON, and the numbers are held against
independent references: the plain-numpy kernels of ``tests/references.py`` (never call ntkx)
and numpy's dense solves. Timings are only checked for consistency (ratios equal the quotients
of the recorded times), never against wall-clock limits.
"""

from __future__ import annotations

import json

import numpy as np
import references as ref
from scripts import load_script

EPS = np.finfo(np.float64).eps


def _load():
    return load_script("benchmarks/gpu.py")


def test_tiny_run_writes_every_part_with_numbers_that_match_references(tmp_path, capsys):
    gpu = _load()
    out = tmp_path / "gpu.json"
    record = gpu.main(["--tiny", "--out", str(out), "--budget-s", "300"])
    saved = json.loads(out.read_text())
    assert saved["mode"] == "tiny" and not saved["interrupted"]
    assert saved["environment"]["device_kind"] and saved["environment"]["jax"]
    assert "HIGHEST" in saved["precision"]
    parts = saved["parts"]
    assert {name: parts[name]["status"] for name in gpu.PARTS} == dict.fromkeys(gpu.PARTS, "done")
    printed = capsys.readouterr().out
    assert gpu.table(record) in printed and saved["environment"]["device_kind"] in printed

    # 1. kernel / floor. The ratios are the quotients of the recorded times. The float32 kernel
    # entries against the float64 reference of the same (float32-rounded) points: 1e-5 of the
    # scale sqrt(K(x, x) K(x', x')), the float32 bound of tests/test_kernels.py (a TF32 product
    # would give ~1e-3).
    p = parts["kernel_ratio"]
    x = gpu.points(p["n"], gpu.D_RATIO, seed=1).astype(np.float32).astype(np.float64)
    for k in p["kernels"]:
        assert np.isclose(k["ratio_device_floor"], k["kernel_s"] / p["floor_device_s"])
        assert np.isclose(k["ratio_host_floor"], k["kernel_s"] / p["floor_host_s"])
        assert 0 <= k["float32_vs_float64_max_rel_error"] <= 1e-5
    first = p["kernels"][0]
    idx = np.asarray(first["sample_idx"])
    _, want = ref.mlp_kernels(x[idx], depth=2, b_std=0.1)
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    assert (np.abs(np.asarray(first["sample_values"]) - want) <= 1e-5 * scale).all()

    # 2. dense solve: alpha against the reference kernel. A backward-stable Cholesky solve has
    # normwise backward error <= 10 n eps (tests/test_solvers.py), plus the kernel entries' own
    # error against the reference, <= 1e-12 of max |K| (tests/test_kernels.py).
    p = parts["dense_solve"]
    xs, ys = gpu.sphere_data(p["n"])
    _, k = ref.mlp_kernels(xs, depth=2, b_std=1.0)
    alpha = np.asarray(p["alpha"])
    k_norm = np.abs(k).sum(0).max()
    backward = 10 * p["n"] * EPS + 1e-12
    r = np.linalg.norm(k @ alpha - ys)
    assert r <= backward * (k_norm * np.linalg.norm(alpha) + np.linalg.norm(ys))
    # The device Cholesky solves the same system: the two alphas differ by <= cond * backward.
    cond = np.linalg.cond(k)
    dev = p["device_cholesky"]
    assert dev["alpha_rel_diff"] <= 2 * cond * backward
    # ntkx's own placement (CHOLESKY_ON="auto": the host on a CPU backend) solves it too.
    assert p["auto_factored_on"] == "host" and p["auto_alpha_rel_diff"] <= 2 * cond * backward
    assert np.isclose(p["total_s"], p["kernel_s"] + p["solve_s"])

    # 3. products: the symmetric and full products of float32 tiles agree to the float32
    # rounding of two summation orders over n = 301 points (~ n * 6e-8 relative at worst).
    p = parts["cg_products"]
    assert p["symmetric_vs_full_max_rel_diff"] <= p["n"] * np.finfo(np.float32).eps
    best = min(p["products"], key=lambda r: r["seconds"])
    assert p["best_block"] == best["block"]
    assert np.isclose(p["full_over_symmetric"], p["full_seconds"] / best["seconds"])
    for row in p["products"]:
        assert row["tiles"] == row["n_blocks"] * (row["n_blocks"] // 2 + 1)
        assert row["block"] * row["n_blocks"] >= p["n"] > row["block"] * (row["n_blocks"] - 1)

    # 4. CG: its alpha solves the reference system (float64 numpy kernel + ridge) to CG's
    # tolerance plus the float32 kernel's error (entries within 1e-5 of the scale, as in 1:
    # ||dK alpha|| <= 1e-5 ||K||_F ||alpha||), and so is within cond(A) times that of numpy's
    # dense solution.
    p = parts["cg"]
    assert p["converged"] and 1 <= p["iterations"] <= p["max_iter"] and p["residual"] <= p["tol"]
    assert p["block"] == parts["cg_products"]["best_block"]
    xc, yc = gpu.cg_data(p["n"], seed=4)
    _, k = ref.mlp_kernels(xc.astype(np.float32).astype(np.float64), depth=2, b_std=0.1)
    a = k + p["ridge"] * np.eye(p["n"])
    alpha = np.asarray(p["alpha"])
    bound = p["tol"] + 1e-5 * np.linalg.norm(k) * np.linalg.norm(alpha) / np.linalg.norm(yc)
    rel = np.linalg.norm(a @ alpha - yc) / np.linalg.norm(yc)
    assert rel <= bound, (rel, bound)
    exact = np.linalg.solve(a, yc)
    assert np.linalg.norm(alpha - exact) / np.linalg.norm(exact) <= np.linalg.cond(a) * bound
    assert p["seconds_per_matvec"] > 0 and p["total_s"] >= p["cg_s"] + p["setup_s"]
