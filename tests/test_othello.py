"""Othello's rules against exact perft counts and OpenSpiel, and its notation and adapters."""
import gymnasium as gym
import numpy as np
import pytest

import games
from games import GameError
from spiel import assert_agree

OTHELLO = games.get("othello")
PERFT = [1, 4, 12, 56, 244, 1_396, 8_200, 55_092]  # leaves at depth 0-7 from the start


def perft(game, depth: int) -> list[int]:
    """Leaves at each depth 0..depth, expanded with the batched kernels."""
    frontier, counts = game.new_states(1), [1]
    for _ in range(depth):
        masks = game.legal_masks(frontier)
        rows, actions = np.nonzero(masks)
        frontier = frontier[rows]
        game.play(frontier, actions.astype(np.int64))
        counts.append(len(frontier))
    return counts


def spiel_perft(state, depth: int) -> int:
    if depth == 0 or state.is_terminal():
        return 1
    return sum(spiel_perft(state.child(a), depth - 1) for a in state.legal_actions())


def spiel_board(spiel) -> str:
    rows = [line[2:-2] for line in str(spiel).splitlines() if line[:1].isdigit()]
    return "".join(rows).replace(" ", "").replace("-", ".").upper()


def test_perft_counts_from_the_start():
    assert perft(OTHELLO, 7) == PERFT


def test_perft_agrees_with_openspiel():
    pyspiel = pytest.importorskip("pyspiel")
    start = pyspiel.load_game(OTHELLO.openspiel).new_initial_state()
    assert [spiel_perft(start, d) for d in range(6)] == PERFT[:6]


def test_agrees_with_openspiel_over_random_games():
    """1,000 random games (about 60,000 positions, passes and early ends included)."""
    pyspiel = pytest.importorskip("pyspiel")
    positions = assert_agree(OTHELLO, pyspiel.load_game(OTHELLO.openspiel), 1000, 7, spiel_board)
    assert positions > 50_000


def test_passes_and_early_end():
    """Random games reach a pass, and an end with empty squares left (no one can move)."""
    rng, passed, ended_early = np.random.default_rng(1), False, False
    for _ in range(2000):
        if passed and ended_early:
            break
        state, moves = OTHELLO.initial(), []
        while OTHELLO.outcome(state) == games.ONGOING:
            action = int(rng.choice(np.flatnonzero(OTHELLO.legal(state))))
            passed |= action == OTHELLO.pass_action
            state, moves = OTHELLO.apply(state, action), moves + [action]
        ended_early |= OTHELLO.pass_action not in moves and len(moves) < 60
    assert passed and ended_early, (passed, ended_early)


def test_notation():
    assert OTHELLO.parse_moves("d3 c5,  F6") == [19, 34, 45]
    assert OTHELLO.format_moves([19, 34, 64]) == "d3 c5 pass"
    with pytest.raises(GameError, match="bad move 'i9'"):
        OTHELLO.parse_moves("d3 i9")
    with pytest.raises(GameError, match="illegal move a1"):
        OTHELLO.position("a1")
    with pytest.raises(GameError, match="illegal move pass"):
        OTHELLO.position("pass")


def test_gymnasium_and_pettingzoo():
    env = gym.make("zeroplay/Othello-v0")
    obs, info = env.reset()
    assert obs.shape == (2, 8, 8) and obs.sum() == 4 and info["action_mask"].sum() == 4
    pettingzoo = pytest.importorskip("games.pettingzoo")
    aec = pettingzoo.env("othello")
    aec.reset()
    aec.step(19)  # d3
    assert aec.observe("player_1")["action_mask"].sum() == 3
