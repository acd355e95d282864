"""The arena's statistics against values worked out by hand from their definitions and against
scipy's exact binomial bounds: the Elo of a score and its 95% interval, the SPRT's
log-likelihood ratio, and the gate's decisions."""
import math

import pytest
from scipy.stats import binomtest

import games
from engine import arena
from engine.arena import MatchResult, elo_of, gate, score_of, sprt_llr
from engine.config import ArenaConfig
from engine.strength import describe as describe_strength

GAME = games.get("tictactoe")


def test_elo_of_a_score_is_the_logistic_model():
    # 400 log10(s / (1 - s)): 75% is 400 log10 3 = +190.8, the textbook figure; 50% is even
    assert elo_of(0.75) == pytest.approx(400 * math.log10(3)) == pytest.approx(190.85, abs=0.01)
    assert elo_of(0.5) == pytest.approx(0.0)
    assert elo_of(0.25) == pytest.approx(-190.85, abs=0.01)
    for elo in (-300.0, -35.0, 0.0, 35.0, 500.0):
        assert elo_of(score_of(elo)) == pytest.approx(elo)
    assert score_of(35.0) == pytest.approx(0.550199, abs=1e-6)  # 1 / (1 + 10^(-35/400))


@pytest.mark.parametrize("wins, games", [(0, 1), (0, 6), (1, 6), (3, 6), (6, 6), (1, 1),
                                         (17, 40), (40, 40), (812, 1000)])
def test_the_score_interval_is_the_exact_binomial_one(wins, games):
    # Clopper-Pearson: scipy's binomtest gives the same bounds by its own route
    reference = binomtest(wins, games).proportion_ci(0.95, method="exact")
    lo, hi = arena.score_interval(wins, games)
    assert (lo, hi) == pytest.approx((reference.low, reference.high), abs=1e-9)
    assert MatchResult(wins, 0, games - wins).elo()[1:] == pytest.approx(
        (elo_of(lo), elo_of(hi)))


def test_all_won_or_all_lost_is_a_one_sided_bound_never_a_clamp():
    # 6 of 6: the exact lower end is 0.025^(1/6) = 0.540691, Elo 400 log10(0.540691 /
    # 0.459309) = +28.37; nothing bounds it above. (A normal approximation around a padded
    # score printed +446 [+332, +736] for this match.)
    floor = 400 * math.log10(0.025 ** (1 / 6) / (1 - 0.025 ** (1 / 6)))
    assert floor == pytest.approx(28.373, abs=1e-3)
    assert MatchResult(6, 0, 0).elo() == pytest.approx((floor, floor, math.inf))
    assert MatchResult(6, 0, 0).describe().endswith("Elo >= +28")
    assert MatchResult(0, 0, 6).elo() == pytest.approx((-floor, -math.inf, -floor))
    assert MatchResult(0, 0, 6).describe().endswith("Elo <= -28")
    assert arena.describe_elo(*MatchResult().elo()) == "unknown (no games)"


def test_the_elo_interval_of_a_match_with_draws():
    # draws count half a point: +60 =20 -20 is 70 points of 100, score 0.7, Elo
    # 400 log10(7 / 3) = +147.19; the interval is the exact one of 70 in 100
    elo, lo, hi = MatchResult(60, 20, 20).elo()
    reference = binomtest(70, 100).proportion_ci(0.95, method="exact")
    assert elo == pytest.approx(147.19, abs=0.01)
    assert (lo, hi) == pytest.approx((elo_of(reference.low), elo_of(reference.high)))
    # an even match is centred on 0, symmetric, however the points were made
    assert MatchResult(0, 40, 0).elo() == pytest.approx(MatchResult(20, 0, 20).elo())
    elo, lo, hi = MatchResult(30, 40, 30).elo()
    assert elo == pytest.approx(0.0, abs=1e-9) and lo == pytest.approx(-hi)
    assert MatchResult(30, 40, 30).describe().endswith(f"Elo +0 [{lo:+.0f}, {hi:+.0f}]")


def test_the_sprt_log_likelihood_ratio():
    """The normal approximation of the trinomial model (as fishtest's): LLR = n (s1 - s0)
    (2 s - s0 - s1) / (2 var), var the per-game variance of the results."""
    # +60 =20 -20, elo0 = 0, elo1 = 35: s = 0.7, var = (60 0.09 + 20 0.04 + 20 0.49) / 100 =
    # 0.16, s0 = 0.5, s1 = 0.550199: 100 x 0.050199 x 0.349801 / 0.32 = 5.4874
    assert sprt_llr(MatchResult(60, 20, 20), 0.0, 35.0) == pytest.approx(5.4874, abs=1e-4)
    # the mirror match is evidence for elo0 by as much, minus what the test's asymmetry gives
    # (2 s - s0 - s1 = -0.450199): 100 x 0.050199 x -0.450199 / 0.32 = -7.0625
    assert sprt_llr(MatchResult(20, 20, 60), 0.0, 35.0) == pytest.approx(-7.0625, abs=1e-4)
    assert sprt_llr(MatchResult(), 0.0, 35.0) == 0.0
    # all results alike: the variance is taken as 0.25 / n, and a score of 1 is evidence for H1
    assert sprt_llr(MatchResult(8, 0, 0), 0.0, 35.0) > math.log(19)


def rounds(*results):
    """A stand-in for play_pairs that returns these match results, one per round."""
    results = list(results)

    def play_pairs(game, first, second, pairs, opening_moves, seed):
        result = results.pop(0)
        assert result.games <= 2 * pairs
        return result
    return play_pairs


@pytest.mark.parametrize("results, promote, reason, games", [
    # one round of +12 =4 -0 after the first: LLR far above ln 19 = 2.944
    ([MatchResult(12, 4, 0)], True, "SPRT accepted H1", 16),
    ([MatchResult(0, 4, 12)], False, "SPRT accepted H0", 16),
    # +5 =22 -5 twice: LLR < 0 but above -2.944 after 32 games, then max_games (64) is reached:
    # undecided, and the candidate is kept out (LLR not > 0)
    ([MatchResult(5, 22, 5), MatchResult(5, 22, 5)], False, "SPRT undecided after 64 games", 64),
])
def test_the_sprt_gate_decides_by_its_bounds_or_at_max_games(monkeypatch, results, promote,
                                                              reason, games):
    monkeypatch.setattr(arena, "play_pairs", rounds(*results))
    cfg = ArenaConfig(gate="sprt", max_games=64, elo0=0.0, elo1=35.0, alpha=0.05, beta=0.05)
    promoted, result, why = gate(GAME, None, None, cfg, seed=0)
    assert (promoted, result.games) == (promote, games)
    assert why.startswith(reason), why


def test_the_threshold_gate_and_no_gate(monkeypatch):
    monkeypatch.setattr(arena, "play_pairs", rounds(MatchResult(9, 0, 7)))
    promoted, result, why = gate(GAME, None, None, ArenaConfig(gate="threshold", max_games=16,
                                                               threshold=0.55), seed=0)
    assert promoted and result.score == pytest.approx(9 / 16) and why == "score 0.562 >= 0.55"
    monkeypatch.setattr(arena, "play_pairs", rounds(MatchResult(8, 0, 8)))
    promoted, _, why = gate(GAME, None, None, ArenaConfig(gate="threshold", max_games=16,
                                                          threshold=0.55), seed=0)
    assert not promoted and why == "score 0.500 < 0.55"
    monkeypatch.setattr(arena, "play_pairs", rounds())  # no game is played
    assert gate(GAME, None, None, ArenaConfig(gate="none"), seed=0)[::2] == (True, "no gate")


def test_strength_on_a_sample_has_the_exact_interval_and_on_every_position_none():
    reference = binomtest(871, 1000).proportion_ci(0.95, method="exact")
    assert describe_strength("connect4", 0.871, 1000) == (
        f"optimal moves: 871 of 1000 positions (87.10%; 95% interval {reference.low:.2%} to "
        f"{reference.high:.2%})")
    assert reference.high - reference.low == pytest.approx(0.043, abs=0.002)  # about +-2 points
    assert describe_strength("tictactoe", 1.0, 4520).endswith("(100.00%; every position: exact)")


def test_the_ladder_rises_by_its_factor_from_the_anchor():
    cfg = ArenaConfig(anchor_rollouts=50, ladder_rungs=4, ladder_factor=4)
    assert arena.ladder(cfg) == [50, 200, 800, 3200]
    assert arena.ladder(ArenaConfig(anchor_rollouts=50, ladder_rungs=1)) == [50]


@pytest.mark.parametrize("last, rung", [
    ({}, 50),  # no rating yet: the lowest rung
    ({200: elo_of(0.76)}, 800),  # 76% against 200: one up
    ({200: elo_of(0.74)}, 200),  # near even enough: stay
    ({200: elo_of(0.26)}, 200),
    ({200: elo_of(0.25)}, 50),  # 25% or less: one down
    ({3200: 491.0}, 3200),  # the top: no higher rung
    ({50: -491.0}, 50),  # the bottom: no lower rung
])
def test_the_next_rating_plays_the_rung_nearest_an_even_match(last, rung):
    assert arena.next_rung([50, 200, 800, 3200], last) == rung


def test_a_rating_says_the_games_and_simulations_behind_it():
    cfg = ArenaConfig(rating_games=41, simulations=32)
    text = arena.describe_ratings({"random": [245.0, 245.0, math.inf],
                                   "mcts800": [120.0, 45.0, 210.0]}, cfg, 8)
    assert text == ("Elo of generation 8 (95%; 40 games at 32 simulations a move): "
                    "vs random >= +245, vs mcts800 +120 [+45, +210]")
