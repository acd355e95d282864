"""An exhaustive tic-tac-toe solver, with the interface of `games.connect4_solver`.

Scores, for the player to move: 0 = draw with perfect play; positive = the player to move wins,
by 6 minus the number of stones it has once it plays its winning stone (a win with one's 3rd
stone is 3, with one's 5th 1: a quicker win scores higher); negative = it loses, by the
opponent's score. A finished position: lost = minus (6 - the opponent's stone count), a full
board drawn = 0. The score of a move is minus the score of the position it leads to.

Every position reachable from the empty board (5,478, of which 4,520 unfinished) is scored once,
by a memoized negamax, on first use, into a table indexed by the two 9-bit boards.
"""
from __future__ import annotations

import numpy as np

from games import tictactoe as ttt
from games.interface import ONGOING

UNSOLVED = -1000  # never returned here (the table is complete); kept for the common interface
ILLEGAL = -2000  # move_scores: the cell is taken, or the game is over
NUM_ACTIONS = ttt.NUM_ACTIONS
WIN_BASE = 6  # a win scores WIN_BASE minus the winner's stone count
_LINES = [int(x) for x in ttt.LINES]
_FULL = ttt.FULL
_MISSING = -128

_table: np.ndarray | None = None  # [2**18] int8, index mine | theirs << 9; _MISSING = not scored


def _won(stones: int) -> bool:
    return any(stones & line == line for line in _LINES)


def _score(mine: int, theirs: int, table: np.ndarray) -> int:
    """Negamax score of (mine to move, theirs), memoized in `table`."""
    key = mine | theirs << 9
    if table[key] != _MISSING:
        return int(table[key])
    if _won(theirs):
        s = -(WIN_BASE - bin(theirs).count("1"))
    elif mine | theirs == _FULL:
        s = 0
    else:
        s = max(-_score(theirs, mine | 1 << a, table)
                for a in range(NUM_ACTIONS) if not (mine | theirs) >> a & 1)
    table[key] = s
    return s


def _get_table() -> np.ndarray:
    global _table
    if _table is None:
        table = np.full(1 << 18, _MISSING, np.int8)
        _score(0, 0, table)  # every position reachable from the empty board
        _table = table
    return _table


def solve(states: np.ndarray, max_nodes: int = 0) -> np.ndarray:
    """[n, S] int64 tictactoe states -> [n] int32 exact scores for the player to move (finished
    positions too). `max_nodes` is accepted for the common interface and ignored: the answer is
    a table look-up, never UNSOLVED."""
    states = np.asarray(states, np.int64).reshape(-1, ttt.STATE_SIZE)
    table = _get_table()
    mine, theirs = states[:, ttt.MINE], states[:, ttt.THEIRS]
    out = table[mine | theirs << 9].astype(np.int32)
    for i in np.flatnonzero(out == _MISSING):  # not reachable from the empty board: score it
        out[i] = _score(int(mine[i]), int(theirs[i]), table)
    return out


def move_scores(state: np.ndarray, max_nodes: int = 0) -> np.ndarray:
    """[S] int64 state -> [A] int32: for each action (cell), the score for the player to move of
    playing it; ILLEGAL for a taken cell (every action once the game is over)."""
    mine, theirs = int(state[ttt.MINE]), int(state[ttt.THEIRS])
    out = np.full(NUM_ACTIONS, ILLEGAL, np.int32)
    if _won(theirs) or _won(mine) or mine | theirs == _FULL:
        return out
    table = _get_table()
    for a in range(NUM_ACTIONS):
        if not (mine | theirs) >> a & 1:
            out[a] = -_score(theirs, mine | 1 << a, table)
    return out


def reachable_states() -> np.ndarray:
    """Every distinct position reachable from the empty board by legal play (play stops at a
    win or a full board), as [N, S] int64 states, in breadth-first order."""
    seen = {(0, 0)}
    frontier = [(0, 0)]
    rows = [(0, 0, 0, ONGOING)]
    while frontier:
        nxt = []
        for mine, theirs in frontier:
            for a in range(NUM_ACTIONS):
                if (mine | theirs) >> a & 1:
                    continue
                child = (theirs, mine | 1 << a)
                if child in seen:
                    continue
                seen.add(child)
                ply = bin(child[0] | child[1]).count("1")
                over = _won(child[1])
                outcome = -1 if over else 0 if ply == NUM_ACTIONS else ONGOING
                rows.append((child[0], child[1], ply, outcome))
                if outcome == ONGOING:
                    nxt.append(child)
        frontier = nxt
    return np.array(rows, np.int64)
