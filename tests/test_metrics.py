"""Tests of ntkx.metrics against hand-computed values and exact cases."""

import numpy as np
import pytest

import ntkx
from ntkx.feedforward.data import geometry, rays
from ntkx.metrics import (
    directional_linearity,
    error_report,
    extrapolation_curve,
    is_positively_homogeneous,
    mape_mean,
    mape_median,
    mape_median_per_batch,
    mse,
    prediction_gap,
    ray_rsquared,
    slope_convergence,
)


def test_ray_rsquared_matches_numpy_regression():
    rng = np.random.default_rng(0)
    t = np.tile(np.linspace(1, 10, 30), (4, 1))
    f = 2 * t + rng.normal(size=t.shape)
    r2 = ray_rsquared(f, t)
    for i in range(4):
        coef = np.polyfit(t[i], f[i], 1)
        res = f[i] - np.polyval(coef, t[i])
        ref = 1 - res @ res / np.sum((f[i] - f[i].mean()) ** 2)
        assert abs(r2[i] - ref) < 1e-12
    # exact line -> 1, constant -> 1 (linear with slope 0), parabola < 1
    assert ray_rsquared(3 * t[:1] + 1, t[:1])[0] == pytest.approx(1.0, abs=1e-14)
    assert ray_rsquared(np.full((1, 30), 5.0), t[:1])[0] == 1.0
    assert ray_rsquared(t[:1] ** 2, t[:1])[0] < 0.99
    with pytest.raises(ValueError, match="n_points >= 3"):
        ray_rsquared(np.ones((2, 2)), np.ones((2, 2)))


def test_directional_linearity_flags_trivial_homogeneous_case():
    g = geometry("cube", 3, 1.0)
    lin = directional_linearity(lambda x: np.linalg.norm(x, axis=1) ** 2, rays(g, 20, 10.0))
    assert lin.median < 0.99 and lin.fraction_above < 0.5 and not lin.trivially_linear
    hom = directional_linearity(lambda x: np.abs(x).sum(1), rays(g, 20, 10.0), homogeneous=True)
    assert hom.trivially_linear and hom.median == pytest.approx(1.0, abs=1e-12)
    off = rays(g, 20, 10.0, base=np.array([0.5, 0.0, 0.0]))
    assert not directional_linearity(lambda x: x.sum(1), off, homogeneous=True).trivially_linear
    assert is_positively_homogeneous(ntkx.mlp(b_std=None))
    assert not is_positively_homogeneous(ntkx.mlp(b_std=0.1))
    assert not is_positively_homogeneous(ntkx.mlp(activation="erf"))


def test_slope_convergence_recovers_known_exponent():
    # f(t v) = 3 t + 1 + 2 / t  ->  gap(t) = |(f(t+h) - f(t))/h - 3| = 2 / (t (t + h)): p -> 2
    def f(x):
        t = np.linalg.norm(x, axis=1)
        return 3 * t + 1 + 2 / t

    sc = slope_convergence(f, np.array([1.0, 0.0]), np.geomspace(10, 1000, 8), h=1.0)
    assert sc.beta == pytest.approx(3.0, rel=1e-9)
    np.testing.assert_allclose(sc.gap, 2 / (sc.t * (sc.t + 1)), rtol=1e-3)
    assert sc.exponent == pytest.approx(2.0, abs=0.02)
    # exactly linear: every gap at rounding level, no exponent
    lin = slope_convergence(lambda x: 2 * x[:, 0], np.array([1.0, 0.0]), np.geomspace(1, 100, 5))
    assert lin.exponent is None and lin.n_fitted == 0


def test_mape_variants_by_hand():
    y = np.array([1.0, 2.0, 4.0, 10.0])
    p = np.array([1.1, 2.0, 3.0, 10.0])  # APEs 10, 0, 25, 0 (%)
    assert mape_mean(y, p) == pytest.approx(8.75)
    assert mape_median(y, p) == pytest.approx(5.0)
    assert mse(y, p) == pytest.approx((0.01 + 1.0) / 4)
    # per batch of 2 (APEs {10, 0}, {25, 0}): NumPy medians 5 and 12.5 -> mean 8.75; torch's
    # lower medians 0 and 0 -> 0; a trailing partial batch is dropped
    assert mape_median_per_batch(y, p, batch_size=2, median="mean") == pytest.approx(8.75)
    assert mape_median_per_batch(y, p, batch_size=2) == 0.0
    y5, p5 = np.append(y, 1.0), np.append(p, 100.0)
    assert mape_median_per_batch(y5, p5, batch_size=2, median="mean") == pytest.approx(8.75)
    # one batch of 4 (APEs 10, 0, 25, 0; sorted 0, 0, 10, 25): lower median 0, mean 5
    assert mape_median_per_batch(y, p, batch_size=4, median="mean") == pytest.approx(5.0)
    assert mape_median_per_batch(y, p, batch_size=4, median="lower") == 0.0
    with pytest.raises(ValueError, match="at least batch_size"):
        mape_median_per_batch(y, p, batch_size=64)


def test_mape_median_per_batch_lower_median_and_kept_zero_labels_by_hand():
    # Two batches of 4. Batch 1: APEs 40, 10, 30, 20 % -> sorted 10, 20, 30, 40: lower median
    # 20 (torch.median), mean median 25. Batch 2 holds an exact zero label (APE inf, as the
    # official unguarded |y - y_hat| / |y| gives) and a near-zero one (1e-12: APE 1e13 %):
    # APEs inf, 1e11, 50, 0 -> sorted 0, 50, 1e11, inf: lower median 50, mean median 5e10 %.
    y = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 1e-12, 2.0, 4.0])
    p = np.array([1.4, 1.1, 0.7, 1.2, 3.0, 1e-1, 3.0, 4.0])
    assert mape_median_per_batch(y, p, batch_size=4) == pytest.approx((20 + 50) / 2)
    assert mape_median_per_batch(y, p, batch_size=4, median="mean") == pytest.approx(
        (25 + 100 * (0.5 + (0.1 - 1e-12) / 1e-12) / 2) / 2, rel=1e-12
    )
    # odd batches: both medians are the middle value (APEs 40, 10, 30 -> 30)
    assert mape_median_per_batch(y[:3], p[:3], batch_size=3) == pytest.approx(30.0)
    assert mape_median_per_batch(y[:3], p[:3], batch_size=3, median="mean") == pytest.approx(30.0)
    # exact zero label with an exact prediction: 0/0 counts as 0 (y = 0, y_hat = 0)
    z = mape_median_per_batch([0.0, 1.0, 1.0], [0.0, 1.5, 1.0], batch_size=3)
    assert z == pytest.approx(0.0)
    # the old behaviours stay available
    with pytest.raises(ValueError, match="zero_labels='exclude'"):
        mape_median_per_batch(y, p, batch_size=4, zero_labels="raise")
    # exclude drops 0 and 1e-12 (<= 1e-8 max|y|) before batching: {40, 10, 30}, {20, 50, 0}
    excl = mape_median_per_batch(y, p, batch_size=3, zero_labels="exclude")
    assert excl == pytest.approx((30 + 20) / 2)
    with pytest.raises(ValueError, match="infinite"):
        mape_median_per_batch([0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], batch_size=4)
    with pytest.raises(ValueError, match="median='middle'"):
        mape_median_per_batch(y, p, batch_size=4, median="middle")


def test_zero_labels_raise_or_are_excluded_and_counted():
    y = np.array([0.0, 1.0, 2.0])
    p = np.array([0.5, 1.0, 3.0])
    with pytest.raises(ValueError, match="zero_labels='exclude'"):
        mape_mean(y, p)
    assert mape_mean(y, p, zero_labels="exclude") == pytest.approx(25.0)
    rep = error_report(y, p, batch_size=64)
    assert rep.n_zero_labels_excluded == 1 and rep.mape_median_per_batch is None
    # the zero label is excluded from the percentages (|1-1|/1, |2-3|/2 -> 0%, 50%) but not
    # from the MSE ((0.25 + 0 + 1) / 3)
    assert rep.mape_mean == pytest.approx(25.0) and rep.mape_median == pytest.approx(25.0)
    assert rep.mse == pytest.approx(1.25 / 3)
    with pytest.raises(ValueError, match="non-finite"):
        mse([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        mse([1.0, 2.0], [1.0])


def test_extrapolation_curve_bins():
    dist = np.arange(100, dtype=float)
    y = np.ones(100)
    pred = 1 + dist / 100  # APE grows linearly with distance
    c = extrapolation_curve(dist, y, pred, bins=4)
    assert c.counts.tolist() == [25, 25, 25, 25]
    np.testing.assert_allclose(c.mape_mean, [12.0, 37.0, 62.0, 86.5], atol=0.51)
    assert (np.diff(c.mape_median) > 0).all()
    edges = extrapolation_curve(dist, y, pred, bins=np.array([0.0, 10.0, 500.0, 600.0]))
    assert edges.counts.tolist() == [10, 90]  # the empty bin is dropped


def test_prediction_gap():
    rms, rel = prediction_gap(np.array([1.0, 3.0]), np.array([1.0, 1.0]))
    assert rms == pytest.approx(np.sqrt(2)) and rel == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match="identically zero"):
        prediction_gap(np.ones(2), np.zeros(2))
