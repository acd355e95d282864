"""The arena's statistics against values worked out by hand from their definitions: the Elo of a
score and its 95% interval, the SPRT's log-likelihood ratio, and the gate's decisions."""
import math

import pytest

import games
from engine import arena
from engine.arena import MatchResult, elo_of, gate, score_of, sprt_llr
from engine.config import ArenaConfig

GAME = games.get("tictactoe")


def test_elo_of_a_score_is_the_logistic_model():
    # 400 log10(s / (1 - s)): 75% is 400 log10 3 = +190.8, the textbook figure; 50% is even
    assert elo_of(0.75) == pytest.approx(400 * math.log10(3)) == pytest.approx(190.85, abs=0.01)
    assert elo_of(0.5) == pytest.approx(0.0)
    assert elo_of(0.25) == pytest.approx(-190.85, abs=0.01)
    for elo in (-300.0, -35.0, 0.0, 35.0, 500.0):
        assert elo_of(score_of(elo)) == pytest.approx(elo)
    assert score_of(35.0) == pytest.approx(0.550199, abs=1e-6)  # 1 / (1 + 10^(-35/400))


def test_the_elo_interval_of_a_match():
    # +60 =20 -20: s = (60 + 10 + 1/2) / 101 = 0.698020 (half a point of prior keeps 100% finite);
    # per-game variance (60 (1-s)^2 + 20 (1/2-s)^2 + 20 s^2) / 100 = 0.160004; half-width
    # 1.96 sqrt(0.160004 / 100) = 0.078401; Elo of s, s - 0.078401 and s + 0.078401
    elo, lo, hi = MatchResult(60, 20, 20).elo()
    assert (elo, lo, hi) == pytest.approx((145.556, 84.762, 216.266), abs=1e-3)
    # +10 =0 -0: s = 10.5 / 11 = 0.954545, variance 10 (1-s)^2 / 10 = 0.002066, half-width
    # 1.96 sqrt(0.002066 / 10) = 0.028173: finite at both ends
    assert MatchResult(10, 0, 0).elo() == pytest.approx((528.888, 439.898, 701.939), abs=1e-3)
    # an even match is centred on 0, symmetric
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
