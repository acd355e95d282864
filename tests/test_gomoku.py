"""Gomoku's rules (15x15 and 9x9 from one file) against OpenSpiel, its GTP notation, adapters."""
import gymnasium as gym
import pytest

import games
from games import GameError
from spiel import assert_agree

GOMOKU, GOMOKU9 = games.get("gomoku"), games.get("gomoku9")


def spiel_board(spiel) -> str:
    """OpenSpiel's board text (the player to move, then rows from the top: b, w and .)."""
    rows = str(spiel).splitlines()[1:]
    return "".join(rows).replace("b", "X").replace("w", "O")


@pytest.mark.parametrize("game, n_games", [
    (GOMOKU9, 300), (GOMOKU, 30),
    pytest.param(GOMOKU9, 1000, marks=pytest.mark.slow), pytest.param(GOMOKU, 1000, marks=pytest.mark.slow)],
    ids=["gomoku9", "gomoku", "gomoku9-1000", "gomoku-1000"])
def test_agrees_with_openspiel_over_random_games(game, n_games):
    pyspiel = pytest.importorskip("pyspiel")
    assert_agree(game, pyspiel.load_game(game.openspiel), n_games, 3, spiel_board)


def test_five_or_more_wins_and_a_full_board_draws():
    six = GOMOKU9.position("a1 a9 b1 b9 c1 c9 e1 e9 f1 f8 d1")  # X: a1-f1, an overline
    assert GOMOKU9.outcome(six) == -1  # the last mover won
    four = GOMOKU9.position("a1 a9 b1 b9 c1 c9 d1 e8")
    assert GOMOKU9.outcome(four) == games.ONGOING


def test_gtp_notation():
    assert GOMOKU.parse_moves("h8 A1, p15") == [7 * 15 + 7, 14 * 15, 14]
    assert GOMOKU9.format_moves([40, 72]) == "e5 a1"
    with pytest.raises(GameError, match="bad move 'i5'"):
        GOMOKU9.parse_moves("e5 i5")
    with pytest.raises(GameError, match="illegal move e5: point e5 is taken"):
        GOMOKU9.position("e5 e5")


def test_gymnasium_and_pettingzoo():
    env = gym.make("zeroplay/Gomoku9x9-v0")
    obs, info = env.reset()
    assert obs.shape == (2, 9, 9) and info["action_mask"].sum() == 81
    assert gym.make("zeroplay/Gomoku-v0").reset()[0].shape == (2, 15, 15)
    pettingzoo = pytest.importorskip("games.pettingzoo")
    aec = pettingzoo.env("gomoku9")
    aec.reset()
    aec.step(40)
    assert aec.observe("player_1")["action_mask"].sum() == 80
