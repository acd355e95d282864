"""What the engine thinks of a position: the search's pick, its value, visits and proof, and per
move the prior, visits and Q (mean value), as `play`, `bestmove` and `show` print them.

Values are from the view of the player to move: +1 a win, -1 a loss.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from games import Game
from mcts import UNKNOWN

PROOFS = {1: "win", 0: "draw", -1: "loss"}  # an exact value, as printed
TOP_MOVES = 5  # rows of the --verbose table
DIGITS = 4  # decimals of values and priors in JSON


@dataclass(frozen=True)
class MoveView:
    move: str
    prior: float
    visits: int
    q: float | None  # mean value of the move's searches for the mover; None: not searched
    proven: str | None  # "win", "draw", "loss" or None


@dataclass(frozen=True)
class View:
    move: str  # the search's pick
    value: float  # the root's value for the mover
    simulations: int
    proven: str | None  # the position's exact value for the mover, if the solver proved it
    moves: tuple[MoveView, ...]  # the legal moves, most visited first, then by prior

    @property
    def chosen(self) -> MoveView:
        return next(m for m in self.moves if m.move == self.move)

    def to_dict(self) -> dict:
        """The view as JSON-ready data, values rounded to DIGITS."""
        return _rounded(asdict(self))


def _rounded(data):
    if isinstance(data, float):
        return round(data, DIGITS)
    if isinstance(data, dict):
        return {k: _rounded(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_rounded(v) for v in data]
    return data


def _proof(value: int) -> str | None:
    return None if value == UNKNOWN else PROOFS[int(value)]


def think(game: Game, player, states: np.ndarray) -> list[View]:
    """The search's view of each of states ([n, S]) for a SearchPlayer."""
    result, tree = player.analyse(states)
    views = []
    for b in range(len(states)):
        visits = tree.edge_visits[b, 0]
        q = tree.edge_value[b, 0] / np.maximum(visits, 1)  # the mover's view (tree.py)
        legal = np.flatnonzero(tree.legal[b, 0])
        moves = [MoveView(game.format_move(a), float(tree.prior[b, 0, a]), int(visits[a]),
                          float(q[a]) if visits[a] else None,
                          _proof(tree.edge_proven[b, 0, a])) for a in legal]
        moves.sort(key=lambda m: (-m.visits, -m.prior))
        views.append(View(game.format_move(int(result.action[b])), float(result.value[b]),
                          player.search.simulations, _proof(result.proven[b]),
                          tuple(moves)))
    return views


def describe(view: View) -> str:
    """'5 (value +0.31, 142/200 visits, proven win)'; a raw policy's pick shows its prior."""
    chosen = view.chosen
    spent = sum(m.visits for m in view.moves)
    searched = (f"{chosen.visits}/{spent} visits" if spent
                else f"raw policy, prior {chosen.prior:.2f}")
    parts = [f"value {view.value:+.2f}", searched]
    if view.proven:
        parts.append(f"proven {view.proven}")
    return f"{view.move} ({', '.join(parts)})"


def table(view: View, top: int = TOP_MOVES) -> str:
    """The most searched moves: prior, visits, Q and proof, one row each."""
    rows = [f"{'move':>6} {'prior':>6} {'visits':>7} {'Q':>6}  proof"]
    for m in view.moves[:top]:
        q = "" if m.q is None else f"{m.q:+.2f}"
        rows.append(f"{m.move:>6} {m.prior:6.3f} {m.visits:7d} {q:>6}  {m.proven or ''}".rstrip())
    return "\n".join(rows)


@contextmanager
def notice_if_slow(message: str, stream, after: float):
    """Print message to stream if the block has not finished after `after` seconds (a first
    search that compiles its kernels, instead of seconds of silence)."""
    timer = threading.Timer(after, lambda: print(message, file=stream, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class Thinker:
    """`think` for one player; its first search, which may compile numba's kernels, says so
    on `stream` when it takes longer than `after` seconds."""

    NOTICE = "searching (the first search compiles the search kernels, once) ..."

    def __init__(self, game: Game, player, stream, after: float = 2.0):
        self.game, self.player, self.stream, self.after = game, player, stream, after
        self.searched = False

    def __call__(self, states: np.ndarray) -> list[View]:
        if self.searched:
            return think(self.game, self.player, states)
        self.searched = True
        with notice_if_slow(self.NOTICE, self.stream, self.after):
            return think(self.game, self.player, states)
