"""The experiment report's statistics and verdicts on constructed runs whose answers are known:
every arm at the equal points, the calibration prediction as a ratio to a clean arm, the
non-transitivity measures against a transitive set's, one rule for every verdict."""
import numpy as np
import pytest

from engine.experiment import Experiment
from engine.metrics import calibration_slope, reliability
from engine.report import (_grid, combined, cyclic_share, cyclic_triples, difference,
                           interval, prediction_spread, predictions, summary_rows,
                           transitive_expectation, value_at, verdict)


def run(n, step=10, games=1, **series):
    """One run's records: n generations, `step` evaluations and steps each; series: metric ->
    a function of the generation index (or a constant)."""
    return [{"generation": g + 1, "evaluations_total": step * (g + 1),
             "games_total": games * (g + 1), "train_steps_total": step * (g + 1),
             **{m: f(g) if callable(f) else f for m, f in series.items()}} for g in range(n)]


def experiment(arms, seeds=(0, 1, 2)):
    return Experiment("tictactoe", tuple(seeds), 100, arms)


def test_every_arm_is_at_the_equal_points_and_one_that_is_not_is_named():
    # the old point (the smallest last record of any run) was 110, past the last strength of
    # arm "a" (its last record measured nothing): "a" left the table without a word
    a = run(10, strength=0.5) + [{"generation": 11, "evaluations_total": 120,
                                  "games_total": 11, "train_steps_total": 120}]
    points = {"a": {0: a}, "b": {0: run(11, strength=lambda g: 0.1 * g)}}
    rows, missing = summary_rows(points, "strength", "evaluations_total")
    assert [r["arm"] for r in rows] == ["a", "b"] and not missing
    assert rows[0]["at"] == 100 and rows[1]["mean"] == pytest.approx(0.9)
    # a point before an arm's first measure (its generations play 2,048 games) is named
    late = {"few": {0: run(3, games=64, strength=0.4)},
            "many": {0: run(3, games=2048, strength=0.6)}}
    rows, missing = summary_rows(late, "strength", "games_total")
    assert [r["arm"] for r in rows] == ["few"] and missing == ["many seed 0"]


def test_each_arm_is_drawn_over_the_range_all_its_runs_cover():
    # the plots' one grid from 0 to the largest end of any arm (106,496 games) met arms of 64
    # games a generation at one or two of its 60 points: they were not drawn
    for games, n in ((64, 40), (2048, 50)):
        runs = {0: run(n, games=games, strength=0.5), 1: run(n + 5, games=games, strength=0.6)}
        for log in (False, True):
            grid = _grid(runs, "games_total", log)
            assert grid[-1] == n * games and len(grid) == 60
            assert all(np.isfinite(value_at(recs, "games_total", "strength", x))
                       for recs in runs.values() for x in grid)


def test_one_rule_for_every_verdict():
    assert verdict(0.1, 0.3, 5, +1) == "supported" and verdict(-0.3, -0.1, 5, -1) == "supported"
    assert verdict(-0.3, -0.1, 5, +1) == "refuted" and verdict(-0.1, 0.2, 5, +1) == "not settled"
    assert verdict(0.1, 0.3, 1, +1) == "1 run: no verdict"
    assert verdict(0.1, 0.3, 2, +1) == "2 runs: no verdict"
    assert verdict(0.7, 0.9, 3, value=0.8) == "consistent"
    assert verdict(0.2, 0.3, 3, value=0.8) == "refuted"
    assert combined(["supported", "supported"]) == "supported" and combined([]) == "no verdict"
    assert combined(["supported", "refuted"]) == "refuted"
    assert combined(["supported", "not settled"]) == "not settled"
    assert combined(["supported", "2 runs: no verdict", "1 run: no verdict"]) == \
        "1 run: no verdict"


def test_the_interval_of_a_difference_resamples_each_arm_on_its_own():
    a, b = [0.70, 0.72, 0.74, 0.71, 0.73], [0.30, 0.35, 0.32, 0.31, 0.33]
    low, high = interval(a, b, statistic=difference)
    assert low < np.mean(a) - np.mean(b) < high and low > 0.3
    assert np.isnan(interval([0.5], b, statistic=difference)).all()


def test_a_head_trained_on_flipped_results_has_1_minus_2p_of_a_clean_heads_slope():
    rng = np.random.default_rng(0)
    exact = rng.choice([-1.0, 1.0], 4000)
    clean = np.clip(0.2 * exact + rng.normal(0, 0.4, exact.shape), -1, 1)  # a weak clean head
    for p in (0.1, 0.3):
        noisy = (1 - 2 * p) * clean
        assert calibration_slope(noisy, exact) / calibration_slope(clean, exact) == \
            pytest.approx(1 - 2 * p)
        assert calibration_slope(noisy, exact) < 0.2 * (1 - 2 * p) + 0.02  # far below 1 - 2p
    assert prediction_spread(reliability(clean, exact)) == pytest.approx(clean.std(), rel=0.02)


def calibration_points(factor, spread=0.4):
    """A clean arm with blind search and a noisy one (p = 0.1) whose slopes are factor times
    the clean one's, three seeds each."""
    def arm(scale):
        return {s: run(5, calibration_slope=scale * (0.09 + 0.01 * s),
                       reliability=[[-scale * spread, -0.2, 50], [scale * spread, 0.4, 50]])
                for s in range(3)}
    return {"blind": arm(1.0), "noisy": arm(factor)}


ARMS = {"blind": {"learner": {"kind": "alphazero", "search_critic": "none"}},
        "noisy": {"learner": {"kind": "noisy_critic", "flip_probability": 0.1}}}


@pytest.mark.parametrize("factor, expected", [(0.8, "consistent"), (0.3, "refuted")])
def test_the_calibration_prediction_is_judged_on_the_ratio_to_a_clean_arm(factor, expected):
    lines = predictions(experiment(ARMS), calibration_points(factor), {})
    line = next(line for line in lines if line.startswith("- noisy"))
    assert f"ratio {factor:.3f}" in line and "1 - 2p = 0.80" in line
    assert f"the spread (sd) of its predictions over blind's {factor:.3f}" in line
    assert line.endswith(f"**{expected}**.")


def test_one_run_gives_numbers_and_no_verdict():
    points = {arm: {0: runs[0]} for arm, runs in calibration_points(0.8).items()}
    line = next(line for line in predictions(experiment(ARMS, (0,)), points, {})
                if line.startswith("- noisy"))
    assert "ratio 0.800 (1 run)" in line and line.endswith("**1 run: no verdict**.")


def test_two_star_arms_with_the_same_data_get_the_same_verdict():
    arms = {"az": {"learner": {"kind": "alphazero"}}, "nc": {"learner": {"kind": "no_critic"}},
            "star": {"learner": {"kind": "star"}}, "star2": {"learner": {"kind": "star"}}}

    def arm(strength, fall):
        return {s: run(10, strength=lambda g: strength + 0.001 * s,
                       policy_entropy_probe=lambda g: 1.8 - fall * g / 9 - 0.01 * s)
                for s in range(3)}

    points = {"az": arm(0.7, 0.4), "nc": arm(0.35, 0.0), "star": arm(0.6, 0.8),
              "star2": arm(0.6, 0.8)}
    lines = [line for line in predictions(experiment(arms), points, {})
             if line.startswith("- star")]
    assert len(lines) == 4 and all(line.endswith("**supported**.") for line in lines)
    assert lines[0].replace("star:", "") == lines[2].replace("star2:", "")


@pytest.mark.parametrize("late, expected", [(-0.02, "supported"), (0.02, "refuted")])
def test_the_proxy_prediction_reads_the_second_half_of_each_run(late, expected):
    arms = {"proxy": {"learner": {"kind": "proxy_critic"}}}
    points = {"proxy": {s: run(20, proxy_score=lambda g: 0.01 * g,
                               strength=lambda g: 0.3 + 0.02 * min(g, 10) + late * max(g - 10, 0)
                               + 0.001 * s) for s in range(3)}}
    line = next(line for line in predictions(experiment(arms), points, {})
                if line.startswith("- proxy"))
    assert line.endswith(f"**{expected}**.")


def test_a_cyclic_trio_is_found_and_a_transitive_set_has_neither_measure():
    cycle = np.array([[0.5, 0.9, 0.1], [0.1, 0.5, 0.9], [0.9, 0.1, 0.5]])
    assert cyclic_triples(cycle) == 1 and cyclic_share(cycle) == pytest.approx(1.0)
    s = np.array([0.0, 0.5, 1.5, 2.0, 3.0])  # additive logits: transitive in Hodge's sense
    additive = 1 / (1 + np.exp(-(s[:, None] - s[None, :])))
    assert cyclic_triples(additive) == 0 and cyclic_share(additive) == pytest.approx(0, abs=1e-12)
    # a strict order whose every game is won: no cycle, but margins that do not add up
    order = np.tril(np.ones((5, 5)), -1) + 0.5 * np.eye(5)
    assert cyclic_triples(order) == 0 and cyclic_share(order) == pytest.approx(0.2, abs=0.01)
    stack = np.stack([cycle, cycle.T, np.full((3, 3), 0.5)])
    assert list(cyclic_triples(stack)) == [1, 1, 0]
    assert cyclic_share(stack) == pytest.approx([1.0, 1.0, 0.0])


def test_noise_alone_makes_equal_generations_look_cyclic():
    equal, spread = np.full((5, 5), 0.5), np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    far = 1 / (1 + np.exp(-(spread[:, None] - spread[None, :])))
    share_equal, triples_equal = transitive_expectation(equal, trials=8)
    share_far, triples_far = transitive_expectation(far, trials=8)
    assert share_equal > 0.4 and triples_equal > 0.5  # 8 trials a pair: noise is large
    assert share_far < 0.2 and triples_far < 0.1
