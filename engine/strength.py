"""Playing strength against perfect play: the share of positions where a player picks an
optimal move (win/draw/loss sense).

Connect Four: positions with every move scored by a perfect solver (../shared/data/connect4,
bench_moves.tsv and pons_moves.tsv). Tic-tac-toe: every one of its 4,520 unfinished positions,
solved here by negamax.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

import games
from games import ONGOING

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_scored_positions(path: str | Path) -> tuple[list[str], list[set[int]]]:
    """(positions as move text, optimal actions of each) from a *_moves.tsv file."""
    positions, optimal = [], []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            moves, best, *_ = line.split("\t")
            positions.append(moves)
            optimal.append({int(c) - 1 for c in best.split(",")})
    return positions, optimal


@functools.lru_cache(maxsize=1)
def tictactoe_optimal() -> tuple[np.ndarray, tuple[frozenset, ...]]:
    """All 4,520 unfinished tic-tac-toe positions ([n, S] states) and their optimal actions."""
    game = games.get("tictactoe")
    values: dict[tuple, int] = {}
    best: dict[tuple, frozenset] = {}
    states: dict[tuple, np.ndarray] = {}

    def negamax(state) -> int:
        key = tuple(state)
        if key in values:
            return values[key]
        outcome = game.outcome(state)
        if outcome != ONGOING:
            values[key] = outcome
            return outcome
        scores = {int(a): -negamax(game.apply(state, int(a)))
                  for a in np.flatnonzero(game.legal(state))}
        top = max(scores.values())
        values[key], best[key], states[key] = top, frozenset(
            a for a, v in scores.items() if v == top), state
        return top

    negamax(game.initial())
    keys = sorted(best)
    return np.array([states[k] for k in keys]), tuple(best[k] for k in keys)


def optimal_rate(actions: np.ndarray, optimal) -> float:
    return float(np.mean([int(a) in ok for a, ok in zip(actions, optimal)]))


def measure(game_name: str, player, data_file: str | Path | None = None) -> tuple[float, int]:
    """(optimal-move rate, positions) of a player: every tic-tac-toe position, or the Connect
    Four positions of data_file (default: bench_moves.tsv)."""
    game = games.get(game_name)
    if game_name == "tictactoe":
        states, optimal = tictactoe_optimal()
    else:
        path = Path(data_file) if data_file else DATA_DIR / game_name / "bench_moves.tsv"
        texts, optimal = load_scored_positions(path)
        states = np.array([game.position(t) for t in texts])
    actions = player.choose(states)
    return optimal_rate(actions, optimal), len(states)
