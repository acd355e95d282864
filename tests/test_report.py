"""The experiment report's statistics and verdicts on constructed runs whose answers are known:
every arm at the equal points, the calibration prediction as a ratio to a clean arm, the
non-transitivity measures against a transitive set's, one rule for every verdict."""
import numpy as np
import pytest

from engine.experiment import Experiment
from engine.metrics import calibration_slope, reliability
from engine.report import (_censored_note, _grid, _kl_note, _open_questions, _star_table,
                           _transitivity_lines, combined, critic_split, cyclic_share,
                           cyclic_triples, difference, fieller, flatten_elo, gap_share,
                           improvement, interval, lack_of_fit, mean, peak_and_fall,
                           pooled_reliability, prediction_spread, predictions, summary_rows,
                           t_interval, trend, value_at, verdict, write_report)


def run(n, step=10, games=1, **series):
    """One run's records: n generations, `step` evaluations and steps each; series: metric ->
    a function of the generation index (or a constant)."""
    return [{"generation": g + 1, "evaluations_total": step * (g + 1),
             "games_total": games * (g + 1), "train_steps_total": step * (g + 1),
             **{m: f(g) if callable(f) else f for m, f in series.items()}} for g in range(n)]


def experiment(arms, seeds=(0, 1, 2)):
    return Experiment("tictactoe", tuple(seeds), 100, arms)


def texts(lines):
    """The report's lines as text (a judged line is a Judged)."""
    return [str(line) for line in lines]


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
    # a refuted part refutes the whole, whatever another part lacks
    assert combined(["supported", "refuted", "2 runs: no verdict"]) == "refuted"
    assert verdict(-np.inf, np.inf, 5, value=0.8) == "no verdict (an unbounded interval)"
    assert combined(["supported", "no verdict (an unbounded interval)"]) == \
        "no verdict (an unbounded interval)"


def test_verdict_intervals_are_t_intervals_not_the_range_of_three_runs():
    three = [0.68, 0.70, 0.71]
    assert interval(three) == pytest.approx((0.68, 0.71))  # the bootstrap: their range
    low, high = t_interval(three, statistic=mean)
    assert low < 0.66 and high > 0.73  # Student's t with 2 degrees of freedom: wider
    a, b = [0.70, 0.72, 0.74, 0.71, 0.73], [0.30, 0.35, 0.32, 0.31]
    from scipy import stats
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert t_interval(a, b, statistic=difference) == pytest.approx((welch.low, welch.high))


def test_the_probability_of_improvement_counts_pairs_of_runs():
    assert improvement([0.7, 0.8], [0.6, 0.75]) == pytest.approx(0.75)  # 3 of 4 pairs
    assert improvement([0.5], [0.5]) == 0.5 and improvement([0.1, 0.2], [0.3]) == 0.0
    low, high = interval([0.7, 0.8, 0.9], [0.1, 0.2, 0.3], statistic=improvement)
    assert low == high == 1.0  # every resample: every star run above every other


def test_fieller_brackets_the_ratio_and_is_unbounded_when_the_divisor_may_be_zero():
    low, high = fieller([0.08, 0.08, 0.09, 0.07], [0.10, 0.11, 0.09, 0.10])
    assert low < 0.8 < high and high - low < 0.5
    assert fieller([0.08, 0.08, 0.09], [0.02, 0.10, -0.02]) == (-np.inf, np.inf)


def test_a_trend_skips_missing_points_and_a_constant_has_none():
    rising = [{"m": v} for v in (0.1, 0.2, float("nan"), 0.3, 0.4)]
    assert trend(rising, "m") == pytest.approx(1.0)
    assert trend([{"m": 0.5}] * 6, "m") == 0.0
    assert np.isnan(trend([{"m": 0.5}, {"m": 0.6}], "m"))


def test_an_elo_of_a_match_won_or_lost_entirely_is_marked_a_bound():
    points = {"a": {0: [{"elo": {"x": [300.0, 150.0, float("inf")]}}],
                    1: [{"elo": {"x": [100.0, 20.0, 180.0]}}]},
              "b": {0: [{"elo": {"x": [-400.0, -float("inf"), -400.0]}}]}}
    assert flatten_elo(points) == ["x"]
    assert points["a"][0][0]["elo_x"] == 300.0 and points["a"][0][0]["elo_x_bound"] == 1
    assert points["a"][1][0]["elo_x_bound"] == 0 and points["b"][0][0]["elo_x_bound"] == -1
    note = _censored_note(points, "x")
    assert "a 1 (all won)" in note and "b 1 (all lost)" in note


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
    lines = texts(predictions(experiment(ARMS), calibration_points(factor), {}))
    line = next(line for line in lines if line.startswith("- noisy"))
    assert f"ratio {factor:.3f}" in line and "1 - 2p = 0.80" in line
    assert f"the spread (sd) of its predictions over blind's {factor:.3f}" in line
    assert line.endswith(f"**{expected}**.")


def test_one_run_gives_numbers_and_no_verdict():
    points = {arm: {0: runs[0]} for arm, runs in calibration_points(0.8).items()}
    line = next(line for line in texts(predictions(experiment(ARMS, (0,)), points, {}))
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
    lines = [line for line in texts(predictions(experiment(arms), points, {}))
             if line.startswith("- star")]
    assert len(lines) == 4 and all(line.endswith("**supported**.") for line in lines)
    assert lines[0].replace("star:", "") == lines[2].replace("star2:", "")


@pytest.mark.parametrize("late, expected", [(-0.02, "supported"), (0.02, "refuted")])
def test_the_proxy_prediction_reads_the_second_half_of_each_run(late, expected):
    arms = {"proxy": {"learner": {"kind": "proxy_critic"}}}
    points = {"proxy": {s: run(20, proxy_score=lambda g: 0.01 * g,
                               strength=lambda g: 0.3 + 0.02 * min(g, 10) + late * max(g - 10, 0)
                               + 0.001 * s) for s in range(3)}}
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("- proxy"))
    assert line.endswith(f"**{expected}**.")


def test_a_strength_that_rises_then_falls_shows_where_it_peaked_and_how_far_it_fell():
    tent = run(40, strength=lambda g: 0.3 + 0.01 * min(g, 20) - 0.005 * max(g - 20, 0))
    where, fall = peak_and_fall(tent, "strength")
    assert 0.45 < where < 0.6 and fall == pytest.approx(0.077, abs=0.002)
    assert np.isnan(peak_and_fall(tent[:9], "strength")[1])  # too short for two means
    arms = {"az": {"learner": {"kind": "alphazero"}},
            "proxy": {"learner": {"kind": "proxy_critic"}}}
    points = {"az": {s: run(40, strength=lambda g: 0.3 + 0.01 * g) for s in range(3)},
              "proxy": {s: tent for s in range(3)}}
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("  - and wherever"))
    assert "peaked at 54%, 54%, 54% of the runs" in line and "az's" in line


def test_a_mean_of_rhos_has_its_interval_within_minus_1_and_1():
    """Two runs whose proxy rises every generation and one where it falls: Student's t
    interval of the three rhos (+1, +1, -1) reaches beyond 1; rho cannot."""
    arms = {"proxy": {"learner": {"kind": "proxy_critic"}}}
    sign = {0: 1, 1: 1, 2: -1}
    points = {"proxy": {s: run(20, proxy_score=lambda g, s=s: sign[s] * 0.01 * g,
                               strength=0.3) for s in range(3)}}
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("- proxy"))
    brackets = [b.split("]")[0] for b in line.split("[")[1:]]
    highs = [float(b.split(", ")[1]) for b in brackets]
    assert max(highs) == 1.0


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


def round_robin_trials(strengths, rng, cycle=0.0, draws=0.2, trials=8):
    """{(i, j): i's score in each pair of colour-swapped games}: logistic in the strength
    difference, plus `cycle` logits for i against j (-cycle against j + 2 in a 3-cycle), a
    first-move edge and an opening effect shared by the pair's two games."""
    k, units = len(strengths), {}
    for i in range(k):
        for j in range(i + 1, k):
            d = strengths[i] - strengths[j] + cycle * (1 if (j - i) % 3 == 1 else -1)
            scores = []
            for _ in range(trials):
                opening = rng.normal(0, 1)
                games = [0.5 if rng.random() < draws else
                         float(rng.random() < 1 / (1 + np.exp(-(d + edge + opening))))
                         for edge in (0.8, -0.8)]
                scores.append(np.mean(games))
            units[(i, j)] = np.array(scores)
    return units


@pytest.mark.parametrize("spread", [0.0, 1.5, 4.0])
def test_transitive_generations_fit_the_additive_model_whatever_their_spread(spread):
    """Noise alone: the lack of fit is about 1 for equal generations and for far apart ones
    (the old null, drawn from the fitted strengths, read equal ones as cyclic)."""
    rng = np.random.default_rng(0)
    fits = [lack_of_fit(round_robin_trials(np.linspace(0, spread, 5), rng))[0]
            for _ in range(60)]
    assert 0.75 < np.mean(fits) < 1.3


def test_a_rock_paper_scissors_set_does_not_fit():
    rng = np.random.default_rng(1)
    fits = [lack_of_fit(round_robin_trials(np.zeros(5), rng, cycle=1.5))[0] for _ in range(20)]
    assert np.mean(fits) > 4 and min(fits) > 2


def test_strength_falling_step_by_step_in_p_supports_the_noise_order():
    arms = {"blind": {"learner": {"kind": "alphazero", "search_critic": "none"}},
            "p10": {"learner": {"kind": "noisy_critic", "flip_probability": 0.1}},
            "p30": {"learner": {"kind": "noisy_critic", "flip_probability": 0.3}}}

    def arm(level):
        return {s: run(10, strength=lambda g, s=s: level + 0.002 * s) for s in range(3)}

    points = {"blind": arm(0.52), "p10": arm(0.48), "p30": arm(0.42)}
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("- strength at"))
    assert "p = 0.0 (blind) minus p = 0.1 (p10) +0.040" in line
    assert line.endswith("**supported**.")
    points["p30"] = arm(0.50)  # above p10: the order broken
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("- strength at"))
    assert line.endswith("**refuted**.")


def test_rationalization_that_leads_early_and_not_late_helps_most_early():
    arms = {"star": {"learner": {"kind": "star"}},
            "hinted": {"learner": {"kind": "star", "rationalize": True}}}
    points = {"star": {s: run(40, strength=lambda g, s=s: 0.3 + 0.01 * g + 0.001 * s)
                       for s in range(3)},
              "hinted": {s: run(40, strength=lambda g, s=s: 0.3 + 0.01 * g + 0.001 * s
                                + 0.1 * (g < 20)) for s in range(3)}}
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("- hinted over star"))
    assert "lead at 100 evaluations +0.100" in line and line.endswith("**supported**.")


def test_a_no_critic_arm_whose_strength_rises_refutes_its_prediction():
    arms = {"nc": {"learner": {"kind": "no_critic"}}}
    points = {"nc": {s: run(10, strength=lambda g, s=s: 0.3 + 0.01 * g * (1 + s))
                     for s in range(3)}}
    line = next(line for line in texts(predictions(experiment(arms), points, {}))
                if line.startswith("- nc: strength"))
    assert line.endswith("**refuted**.")


def test_fieller_of_a_gaps_share_counts_the_covariance_of_its_two_differences():
    """The share's ends are where (a - b) - r (a - c) is t standard errors from 0, its variance
    va (1 - r)^2 + vb + r^2 vc (a in both differences): found here by a root finder."""
    from scipy import optimize, stats
    a, b, c = [0.70, 0.74, 0.69, 0.73], [0.52, 0.47, 0.50], [0.31, 0.36, 0.30, 0.33]
    va, vb, vc = (np.var(x, ddof=1) / len(x) for x in (a, b, c))
    t = stats.t.ppf(0.975, 2)
    r0 = gap_share(a, b, c)

    def gap(r):
        num = np.mean(a) - np.mean(b) - r * (np.mean(a) - np.mean(c))
        return abs(num) - t * np.sqrt(va * (1 - r) ** 2 + vb + r ** 2 * vc)

    ends = optimize.brentq(gap, r0 - 2, r0), optimize.brentq(gap, r0, r0 + 2)
    assert t_interval(a, b, c, statistic=gap_share) == pytest.approx(ends)


def strength_arm(level, runs=4, n=10):
    return {s: run(n, strength=lambda g, s=s: level + 0.004 * (s - 1.5)) for s in range(runs)}


SPLIT = {"az": {"learner": {"kind": "alphazero"}},
         "blind": {"learner": {"kind": "alphazero", "search_critic": "none"}},
         "nc": {"learner": {"kind": "no_critic"}}}


@pytest.mark.parametrize("blind, search, labels, where", [
    (0.5, "supported", "supported", "within 0 and 1: each place carries part"),
    (0.7, "not settled", "supported", "holds 0 (none of it in the search)"),
    (0.3, "supported", "not settled", "holds 1 (all of it)")])
def test_the_critics_gain_splits_into_the_search_and_the_labels(blind, search, labels, where):
    points = {"az": strength_arm(0.7), "blind": strength_arm(blind), "nc": strength_arm(0.3)}
    lines = texts(critic_split(experiment(SPLIT), points))
    judged = {line.split(":")[0]: line for line in lines if line.startswith("- ")}
    assert judged["- the whole critic"].endswith("**supported**.")
    assert "az minus nc +0.400" in judged["- the whole critic"]
    assert judged["- the critic in the search"].endswith(f"**{search}**.")
    assert judged["- the critic in the labels"].endswith(f"**{labels}**.")
    share = next(line for line in lines if line.startswith("- the search's share"))
    assert f"{(0.7 - blind) / 0.4:.3f}" in share and where in share


def test_a_search_share_without_spread_between_0_and_1_is_within_them():
    """Runs without scatter: the share's interval is the one value 0.5, within 0 and 1 (the
    old strict test, 0 < low < high < 1, read it as outside)."""
    points = {arm: {s: run(10, strength=level) for s in range(3)}
              for arm, level in (("az", 0.7), ("blind", 0.5), ("nc", 0.3))}
    share = next(line for line in texts(critic_split(experiment(SPLIT), points))
                 if line.startswith("- the search's share"))
    assert "0.500 [0.500, 0.500]" in share and "within 0 and 1: each place carries" in share


def test_the_critic_split_leaves_out_the_parts_whose_arms_are_absent():
    points = {"az": strength_arm(0.7), "nc": strength_arm(0.3)}
    lines = texts(critic_split(experiment({a: SPLIT[a] for a in points}), points))
    assert [line.split(":")[0] for line in lines if line.startswith("- ")] == \
        ["- the whole critic"]
    assert critic_split(experiment({"nc": SPLIT["nc"]}), {"nc": points["nc"]}) == []


def rr(fits, ps, triples=0, df2=70):
    return [{"lack_of_fit": f, "p": p, "triples": triples, "share": 0.1, "k": 5, "df2": df2}
            for f, p in zip(fits, ps)]


@pytest.mark.parametrize("az_fit, nc_fit, expected", [(1.0, 3.0, ("consistent", "supported")),
                                                       (3.0, 1.0, ("refuted", "refuted"))])
def test_alphazeros_transitivity_is_judged_on_its_own_fit_and_against_the_others(
        az_fit, nc_fit, expected):
    arms = {"az": {"learner": {"kind": "alphazero"}}, "nc": {"learner": {"kind": "no_critic"}}}
    jitter = np.array([-0.1, 0.05, 0.1, -0.05])

    def ps(fit):  # a transitive run's p is spread over (0, 1); a cyclic one's is tiny
        return [0.4, 0.6, 0.3, 0.7] if fit < 2 else [0.001] * 4

    transitivity = {"az": rr(az_fit + jitter, ps(az_fit)),
                    "nc": rr(nc_fit + jitter, ps(nc_fit), triples=2)}
    own, others = texts(_transitivity_lines(experiment(arms), transitivity))
    assert own.startswith("- az's generations are near-transitive")
    assert own.endswith(f"**{expected[0]}**.") and others.endswith(f"**{expected[1]}**.")
    # F above 1 without a cycle: read as transitive but not additive
    assert ("transitive but not additive" in own) == (az_fit > 1.5)


@pytest.mark.parametrize("runs, wide", [(10, True), (40, False)])
def test_a_consistent_share_whose_interval_also_holds_the_alternative_is_left_open(runs, wide):
    """2 runs of 10 with p < 0.05: Clopper-Pearson's [0.025, 0.556] holds 0.05 and the
    alternative 0.2 alike; 2 of 40: [0.006, 0.169], 0.05 only. F close to its mean when
    the model fits, 70 / 68 at df2 = 70 (an interval that excludes 1: judged against 1, as
    first written, these would read refuted)."""
    arms = {"az": {"learner": {"kind": "alphazero"}}}
    fits = 70 / 68 + 0.001 * np.sin(np.arange(runs))
    judged = _transitivity_lines(experiment(arms), {"az": rr(fits, [0.01, 0.02]
                                                              + [0.5] * (runs - 2))})
    line = str(judged[0])
    assert line.endswith("**consistent**.")
    assert ("holds 0.2 (four times the chance rate) as well as 0.05" in line) == wide
    assert "1.5 (margins" not in line
    assert ("az's generations near-transitive" in _open_questions(judged)[0]) == wide


def test_a_consistent_lack_of_fit_whose_interval_also_holds_1_5_is_left_open():
    arms = {"az": {"learner": {"kind": "alphazero"}}}
    fits = [0.6, 1.9, 0.8, 1.7]  # mean 1.25, Student's interval about [0.2, 2.3]
    judged = _transitivity_lines(experiment(arms), {"az": rr(fits, [0.5] * 3 + [0.01] * 37)})
    line = str(judged[0])
    assert line.endswith("**consistent**.")
    assert "holds 1.5 (margins that do not add up) as well as 1" in line
    assert "az's generations near-transitive" in _open_questions(judged)[0]


@pytest.mark.parametrize("fit, df2, triples, note", [
    (1.01, 70, 0, None),  # about 1: the old note fired on any mean above 1
    (1.3, 6, 0, None),  # above 1 but below F(df1, 6)'s mean, 1.5
    (1.6, 70, 0, "the generations are ordered, transitive but not additive"),
    (1.6, 70, 2, "its runs have 2.00 rock-paper-scissors triples (of 10) on average: some "
                 "of it is cycles")])
def test_not_additive_is_said_only_above_fs_null_mean_and_by_the_cycles(fit, df2, triples,
                                                                        note):
    arms = {"az": {"learner": {"kind": "alphazero"}}}
    fits = fit + 0.002 * np.sin(np.arange(40))
    line, = texts(_transitivity_lines(experiment(arms),
                                      {"az": rr(fits, [0.5] * 40, triples, df2)}))
    assert ("the margins do not add up" in line) == bool(note)
    assert ("transitive but not additive" in line) == (note is not None and not triples)
    if note:
        assert f"F's interval lies above {df2 / (df2 - 2):.2f}, the mean of F(df1, df2)" in line
        assert note in line


NO_CRITIC = {"nc": {"learner": {"kind": "no_critic"},
                    "replay": {"window_min": 250, "window_max": 250}},
             "acc": {"learner": {"kind": "no_critic"},
                     "replay": {"window_min": 10_000_000, "window_max": 10_000_000}}}


@pytest.mark.parametrize("collapse, expected", [(True, "supported"), (False, "refuted")])
def test_no_critics_rare_openings_fall_first_and_an_accumulating_replay_keeps_them(
        collapse, expected):
    """collapse: nc's rare openings fall early (by a quarter of the run), its entropy and
    distinct openings late, and acc keeps them all; else nc's rare openings rise late while
    its entropy falls early, and acc's stay below nc's. Rare openings are never more than
    the distinct ones."""
    def early(g):  # 1 at the start, 0.3 from the run's first fifth on
        return 1 - 0.7 * min(g / 8, 1)

    def late(g, by=-0.5):  # 1 until the run's last third, then `by` more
        return 1 + by * max(g - 26, 0) / 13

    def arm(rare, distinct, entropy, scale=1.0):
        runs = {s: run(40, rare_opening_share=lambda g, s=s: scale * 0.9 * rare(g) + 0.002 * s,
                       distinct_openings=lambda g, s=s: scale * 0.95 * distinct(g) + 0.002 * s,
                       policy_entropy_probe=lambda g, s=s: scale * 1.9 * entropy(g) + 0.01 * s)
                for s in range(3)}
        assert all(r["rare_opening_share"] <= r["distinct_openings"]
                   for recs in runs.values() for r in recs)
        return runs

    nc = (arm(early, late, late) if collapse
          else arm(lambda g: late(g, 0.1), lambda g: 1.05, early))
    acc = arm(*[lambda g: 1.0] * 3, 1.0 if collapse else 0.2)
    lines = texts(predictions(experiment(NO_CRITIC), {"nc": nc, "acc": acc}, {}))
    for start in ("- nc: rare openings fall first",
                  "- nc (replay of 250 positions): rare_opening_share falls",
                  "- acc keeps rare_opening_share"):
        line = next(line for line in lines if line.startswith(start))
        assert line.endswith(f"**{expected}**."), start


def test_rare_openings_falling_first_is_judged_against_the_entropy_only():
    """Generation 1's openings all distinct and every later one a singleton (rare = distinct):
    the rare share falls as the distinct openings do, as it must (singletons are at most the
    distinct openings), which the old comparison read as not settled; the entropy falls late."""
    points = {"nc": {s: run(40, rare_opening_share=lambda g: 1 - 0.7 * min(g / 8, 1),
                            distinct_openings=lambda g: 1 - 0.7 * min(g / 8, 1),
                            policy_entropy_probe=lambda g, s=s: 1.9 - 0.02 * max(g - 26, 0)
                            + 0.01 * s) for s in range(3)}}
    line = next(line for line in texts(predictions(experiment(NO_CRITIC), points, {}))
                if line.startswith("- nc: rare openings fall first"))
    assert "minus policy_entropy_probe's +0.700" in line and "distinct_openings" not in line
    assert line.endswith("**supported**.")


def test_a_calibration_ratio_whose_interval_also_holds_1_or_0_says_so():
    """The noisy arm's slopes average 0.8 times the clean arm's (0.1) each time, with a
    scatter that makes the ratio's interval hold neither 1 nor 0, 1 only, and both."""
    clean = {s: run(5, calibration_slope=0.1 + 0.001 * (s - 1)) for s in range(3)}
    for scatter, holds in ((0.001, ""), (0.02, "1 (no effect of the noise) as well"),
                           (0.07, "1 (no effect of the noise) and 0 (a slope of 0")):
        noisy = {s: run(5, calibration_slope=0.08 + scatter * (s - 1)) for s in range(3)}
        judged = predictions(experiment(ARMS), {"blind": clean, "noisy": noisy}, {})
        line = next(line for line in texts(judged) if line.startswith("- noisy"))
        assert line.endswith("**consistent**.")
        assert ("an interval that holds" in line) == bool(holds) and holds in line
        assert ("noisy's calibration slope" in _open_questions(judged)[0]) == bool(holds)


def test_where_more_seeds_would_settle_it_lists_the_open_verdicts_only():
    arms = {"nc": {"learner": {"kind": "no_critic"}}}
    points = {"nc": {s: run(10, strength=lambda g, s=s: 0.3 + 0.01 * g * (1 + s),
                            policy_entropy_probe=lambda g, s=s: 1.8 - 0.01 * g * [1, -1, 2][s])
                     for s in range(3)}}
    judged = predictions(experiment(arms), points, {})
    assert any(line.endswith("**refuted**.") for line in texts(judged))  # strength rises
    assert any(line.endswith("**not settled**.") for line in texts(judged))  # either way
    paragraph = _open_questions(judged)[0]
    assert "nc's policy_entropy_probe falls" in paragraph
    assert "strength" not in paragraph
    assert "None" in _open_questions([])[0]


def test_the_star_table_shows_the_filter_and_the_hints():
    arms = {"star": {"learner": {"kind": "star"}},
            "hinted": {"learner": {"kind": "star", "rationalize": True}}}
    points = {"star": {s: run(4, kept_share=0.5 + 0.1 * s) for s in range(2)},
              "hinted": {s: run(4, kept_share=0.3, rationalized=lambda g: 10 * g,
                                hint_evaluations=0) for s in range(2)}}
    rows = [line for line in _star_table(experiment(arms), points) if line.startswith("| ")]
    assert rows[2] == "| star | 2 | 0.550 | — | — | — |"
    assert rows[3] == "| hinted | 2 | 0.300 | 15.0 | 60 | 0 |"


def test_reliability_curves_pool_by_count_into_bins_of_the_prediction():
    curves = [[[-0.9, -1.0, 10], [0.5, 0.6, 30]], [[-0.95, -0.5, 30], [0.55, 1.0, 10]]]
    pooled = pooled_reliability(curves)
    assert pooled[:, 2].tolist() == [40, 40]
    assert pooled[0, :2] == pytest.approx([-0.9375, -0.625])
    assert pooled[1, :2] == pytest.approx([0.5125, 0.7])


def test_the_report_writes_its_plots_and_sections_from_run_directories(tmp_path):
    import json

    arms = {**SPLIT, "star": {"learner": {"kind": "star"}}}
    levels = {"az": 0.7, "blind": 0.5, "nc": 0.3, "star": 0.6}
    exp = experiment(arms)
    for arm, level in levels.items():
        for s in exp.seeds:
            records = run(10, strength=level + 0.01 * s, kl_from_start=lambda g: 0.01 * g,
                          policy_entropy_probe=1.5, positions_labelled_total=100,
                          minutes=1.0, reliability=[[-0.5, -0.4, 20], [0.5, 0.3, 20]],
                          **({"kept_share": 0.5} if arm == "star" else {}))
            path = exp.run_dir(tmp_path, arm, s) / "metrics.jsonl"
            path.parent.mkdir(parents=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
    write_report(exp, tmp_path, quiet=True)
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    report = (tmp_path / "report.md").read_text()
    for text in ("## How much of the gain comes from the critic", "## STaR's filter and hints",
                 "**Where more seeds would settle it.**",
                 "should largely repeat the entropy's fall (not checked here",
                 "reliability.png"):
        assert text in report


@pytest.mark.parametrize("kl, words", [
    ((0.2, 0.4, 0.6, 0.8), "largely repeats the entropy's fall (here, over 4 runs, the final KL "
                           "against the entropy's fall from the first generation: Pearson's "
                           "r = 1.00)"),
    ((0.3, 0.2, 0.6, 0.5), "here it does so in part only (over 4 runs, the final KL against "
                           "the entropy's fall from the first generation: Pearson's r = 0.71, "
                           "so r² = 0.50 of the KL's variance across runs)"),
    ((0.8, 0.6, 0.4, 0.2), "but here it does not (over 4 runs")])
def test_the_kl_note_says_as_far_as_pearsons_r_does_that_the_kl_repeats_the_entropy(kl, words):
    """Four runs whose entropy falls by 0.2 to 0.8 and whose final KL follows that closely,
    in part, or the other way."""
    arms = {"az": {"learner": {"kind": "alphazero"}}}
    points = {"az": {s: run(10, policy_entropy_probe=lambda g, s=s: 1.8 - 0.2 * (s + 1) * g / 9,
                            kl_from_start=lambda g, s=s: kl[s] * g / 9) for s in range(4)}}
    note = _kl_note(experiment(arms, range(4)), points)
    assert words in note
    assert ("largely repeat" in note) == (kl[0] == 0.2)


def test_the_code_line_counts_the_runs_of_each_commit_and_those_without():
    from engine.report import code_line

    points = {"a": {0: [{"commit": "abc"}, {"commit": "abc"}], 1: [{}, {"commit": "abc"}]},
              "b": {0: [{"commit": "def-dirty"}], 1: [{}]}}
    # a run without a commit may predate recording, or ran outside a git checkout or without
    # git (engine.rundir.code_version gives None): no cause is claimed
    assert code_line(points) == ("Code: abc (2 runs); def-dirty (1 run); no commit recorded "
                                 "for 2 runs (in part).")
    assert code_line({"a": {0: [{}]}}) == "Code: no commit recorded."
