"""Playing strength against perfect play: the share of positions where a player picks an
optimal move (win/draw/loss sense).

A game whose solver lists every position (`reachable_states`: tic-tac-toe's 4,520 unfinished
ones) is measured on all of them, solved here by negamax; another game on positions with every
move scored by a perfect solver, shipped in engine/data/<game>/ (Connect Four: bench_moves.tsv
and pons_moves.tsv, copies of the project's shared benchmark sets).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

import games
from games import ONGOING

DATA_DIR = Path(__file__).parent / "data"  # shipped: connect4/bench_moves.tsv, pons_moves.tsv


def load_scored_positions(path: str | Path) -> tuple[list[str], list[set[int]]]:
    """(positions as move text, optimal actions of each) from a *_moves.tsv file; a file that
    cannot be read or a bad row is a ValueError naming the file and line."""
    from engine.checkpoint import read_capped
    from engine.config import excerpt

    try:
        text = read_capped(path, 256 << 20, "data file").decode()
    except OSError as e:
        raise ValueError(f"cannot read data file {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"data file {path} is not UTF-8 text (byte {e.start})") from None
    positions, optimal = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            moves, _, best = line.partition("\t")
            best = best.split("\t")[0].split(",")
            if not all(c.isascii() and c.isdigit() and 1 <= int(c) <= 64 for c in best):
                raise ValueError(f"{path}:{number}: expected MOVES<tab>BEST,MOVES..., not "
                                 f"{excerpt(line)}")
            positions.append(moves)
            optimal.append({int(c) - 1 for c in best})
    return positions, optimal


def solved_whole(game_name: str) -> bool:
    """True for a game small enough to measure on every position (see the module docstring)."""
    return hasattr(games.solver(game_name), "reachable_states")


@functools.lru_cache(maxsize=1)
def every_position(game_name: str) -> tuple[np.ndarray, tuple[frozenset, ...], np.ndarray]:
    """All unfinished positions of a small game ([n, S] states; tic-tac-toe's 4,520), their
    optimal actions and their exact values for the player to move ([n] int: 1, 0, -1)."""
    game = games.get(game_name)
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
    return (np.array([states[k] for k in keys]), tuple(best[k] for k in keys),
            np.array([values[k] for k in keys]))


def optimal_rate(actions: np.ndarray, optimal) -> float:
    return float(np.mean([int(a) in ok for a, ok in zip(actions, optimal)]))


def has_scored_positions(game_name: str) -> bool:
    """Whether `measure` has positions of its own for the game (solved whole, or shipped)."""
    return solved_whole(game_name) or (DATA_DIR / game_name / "bench_moves.tsv").is_file()


def measure(game_name: str, player, data_file: str | Path | None = None) -> tuple[float, int]:
    """(optimal-move rate, positions) of a player: every position of a game solved whole, or
    the positions of data_file (default: the game's bench_moves.tsv)."""
    game = games.get(game_name)
    if solved_whole(game_name):
        states, optimal, _ = every_position(game_name)
    else:
        path = Path(data_file) if data_file else DATA_DIR / game_name / "bench_moves.tsv"
        texts, optimal = load_scored_positions(path)
        states = np.zeros((len(texts), game.state_size), np.int64)
        for i, text in enumerate(texts):
            try:
                states[i] = game.position(text)
            except games.GameError as e:
                raise games.GameError(f"{path}: position {i + 1}: {e}") from None
    if not len(states):
        raise ValueError(f"{data_file} holds no positions")
    actions = player.choose(states)
    return optimal_rate(actions, optimal), len(states)


def describe(game_name: str, rate: float, n: int) -> str:
    """'optimal moves: 812 of 1000 positions (81.20%; 95% interval 78.65% to 83.55%)': the
    exact binomial interval of a sample of positions; a game solved whole has all of them (no
    sampling error, no interval)."""
    from engine.arena import score_interval

    found = round(rate * n)
    text = f"optimal moves: {found} of {n} positions ({rate:.2%}"
    if solved_whole(game_name):
        return text + "; every position: exact)"
    lo, hi = score_interval(found, n)
    return text + f"; 95% interval {lo:.2%} to {hi:.2%})"


@functools.lru_cache(maxsize=2)
def probe(game_name: str):
    """The research kit's fixed positions for a game (engine.metrics.Probe): tic-tac-toe's
    4,520 with their values; Connect Four's bench_moves.tsv positions, and for calibration a
    third of the unfinished positions one move after them, whose exact values the per-move
    scores give (the benchmark keeps no position lost for the mover; its children include
    many). KeyError for a game with neither."""
    from engine.metrics import Probe

    game = games.get(game_name)
    if solved_whole(game_name):
        states, optimal, values = every_position(game_name)
        return Probe(states, optimal, game.legal_masks(states), states, values.astype(float))
    path = DATA_DIR / game_name / "bench_moves.tsv"
    if not path.is_file():
        raise KeyError(f"{game_name} has no probe positions ({path})")
    texts, optimal = load_scored_positions(path)
    states = np.array([game.position(t) for t in texts])
    children, exact = [], []
    for state, line in zip(states, path.read_text().splitlines()):
        for action, score in enumerate(line.split("\t")[3].split(",")):
            if score != "x":
                child = game.apply(state, action)
                if game.outcome(child) == ONGOING:
                    children.append(child)
                    exact.append(-np.sign(int(score)))
    keep = slice(None, None, 3)  # 2,041 of the 6,122: a calibration set, at a third the cost
    return Probe(states, tuple(optimal), game.legal_masks(states), np.array(children)[keep],
                 np.array(exact, float)[keep])
