"""The research kit's measures on constructed cases whose answers are known."""
import math

import numpy as np
import pytest

from engine.metrics import (brier, calibration_slope, entropy, game_diversity, kl_divergence,
                            reliability, tail_share)
from engine.report import cyclic_share, cyclic_triples, interval, iqm


def test_a_constant_policy_has_zero_entropy_and_a_uniform_one_the_most():
    one_hot = np.eye(7, dtype=np.float32)[[3, 3, 0]]
    uniform = np.full((2, 7), 1 / 7, np.float32)
    assert entropy(one_hot) == pytest.approx(np.zeros(3), abs=1e-6)
    assert entropy(uniform) == pytest.approx(np.full(2, math.log(7)), rel=1e-6)
    masks = np.ones((3, 7), bool)
    assert tail_share(one_hot, masks) == pytest.approx(6 / 7)
    assert tail_share(uniform, np.ones((2, 7), bool)) == 0.0


def test_kl_is_zero_from_itself_and_log_a_from_uniform_for_a_sure_move():
    p = np.eye(7, dtype=np.float32)[[2]]
    assert kl_divergence(p, p)[0] == pytest.approx(0.0, abs=1e-9)
    assert kl_divergence(p, np.full((1, 7), 1 / 7))[0] == pytest.approx(math.log(7), rel=1e-6)


def test_one_repeated_game_is_one_opening_and_all_repeats():
    games = [np.array([3, 3, 2, 4, 1])] * 10
    d = game_diversity(games)
    assert d["distinct_openings"] == pytest.approx(0.1)
    assert d["opening_entropy"] == pytest.approx(0.0)
    assert d["rare_opening_share"] == 0.0
    assert d["repeat_rate"] == pytest.approx(0.9)
    varied = [np.array([a, b, c, d_, 0]) for a, b, c, d_ in np.ndindex(2, 2, 2, 2)]
    d = game_diversity(varied)
    assert d["distinct_openings"] == 1.0 and d["repeat_rate"] == 0.0
    assert d["rare_opening_share"] == 1.0
    assert d["opening_entropy"] == pytest.approx(math.log(16))


def test_a_perfectly_calibrated_predictor_has_the_lowest_brier_score():
    rng = np.random.default_rng(0)
    exact = rng.choice([-1.0, 0.0, 1.0], 2000)
    assert brier(exact, exact) == 0.0
    for noise in (0.1, 0.3, 0.6):
        noisy = np.clip(exact + rng.normal(0, noise, exact.shape), -1, 1)
        assert brier(noisy, exact) > brier(exact, exact)
    assert brier(0.5 * exact, exact) > 0.0
    assert calibration_slope(exact, exact) == pytest.approx(1.0)
    # a critic that flips results with probability p teaches E[flipped] = (1 - 2p) * result
    for p in (0.1, 0.3):
        assert calibration_slope((1 - 2 * p) * exact, exact) == pytest.approx(1 - 2 * p)
    curve = reliability(exact, exact, bins=4)
    assert [round(mean, 6) for mean, _, _ in curve] == [round(true, 6) for _, true, _ in curve]
    assert sum(count for _, _, count in curve) == len(exact)


def test_a_cyclic_trio_is_found_non_transitive_and_a_ladder_is_not():
    cycle = np.array([[0.5, 0.9, 0.1], [0.1, 0.5, 0.9], [0.9, 0.1, 0.5]])
    ladder = np.array([[0.5, 0.7, 0.9], [0.3, 0.5, 0.7], [0.1, 0.3, 0.5]])
    assert cyclic_triples(cycle) == 1 and cyclic_triples(ladder) == 0
    assert cyclic_share(cycle) == pytest.approx(1.0)
    assert cyclic_share(ladder) < 0.05


def test_iqm_and_bootstrap_interval():
    x = np.array([0.0, 1.0, 2.0, 3.0, 100.0, 4.0, 5.0, 6.0])
    assert iqm(x) == pytest.approx(np.mean([2.0, 3.0, 4.0, 5.0]))
    low, high = interval(x)
    assert low < x.mean() < high
    assert interval([0.5, 0.5]) == (0.5, 0.5)
