"""Free-style Gomoku: five or more in a row wins, on 15x15 (`gomoku`) or 9x9 (`gomoku9`).

The rules of OpenSpiel's `gomoku` (its default: connect 5, overlines win, a full board is a
draw). Action `row * size + col` plays at row row (0 at the top) and column col; moves are
written in GTP coordinates: a column letter (a-t, no i) and the row counted from the bottom,
`h8` being 15x15's centre. One set of kernels serves both sizes: a state holds one int64 per
row for each player, so the board's size is the state's length. State row (int64):
    [0, size) rows of the player to move (bit col = column col)   [size, 2 size) opponent's rows
    [2 size] moves played   [2 size + 1] outcome
"""
import functools

import numpy as np
from numba import njit

from games.boards import GTP_COLUMNS, coordinates, dihedral
from games.interface import ONGOING, Game
from games.rng import below

CONNECT = 5
DR = np.array([0, 1, 1, 1])  # the 4 directions of a line: right, down and both diagonals
DC = np.array([1, 0, 1, -1])


@njit(cache=True, inline="always")
def _size(states):
    return (states.shape[1] - 2) // 2


def new_states(size, n):
    states = np.zeros((n, 2 * size + 2), np.int64)
    states[:, 2 * size + 1] = ONGOING
    return states


@njit(cache=True)
def _five(rows, size, r, c):
    """True when the stone of `rows` (one int64 per row) on (r, c) is in a line of CONNECT."""
    for d in range(4):
        n = 1
        for sign in (1, -1):
            rr, cc = r + sign * DR[d], c + sign * DC[d]
            while 0 <= rr < size and 0 <= cc < size and (rows[rr] >> cc) & 1:
                n += 1
                rr, cc = rr + sign * DR[d], cc + sign * DC[d]
        if n >= CONNECT:
            return True
    return False


@njit(cache=True)
def _place(s, size, action):
    """Play action in state row s for the player to move, in place; the players swap."""
    r, c = action // size, action % size
    s[r] |= np.int64(1) << c
    won = _five(s[:size], size, r, c)
    for k in range(size):
        s[k], s[size + k] = s[size + k], s[k]
    s[2 * size] += 1
    s[2 * size + 1] = -1 if won else 0 if s[2 * size] == size * size else ONGOING


@njit(cache=True)
def play(states, actions):
    size = _size(states)
    for i in range(states.shape[0]):
        _place(states[i], size, actions[i])


@njit(cache=True)
def legal_masks(states):
    size = _size(states)
    masks = np.zeros((states.shape[0], size * size), np.bool_)
    for i in range(states.shape[0]):
        if states[i, 2 * size + 1] == ONGOING:
            for a in range(size * size):
                r, c = a // size, a % size
                masks[i, a] = ((states[i, r] | states[i, size + r]) >> c) & 1 == 0
    return masks


@njit(cache=True)
def outcomes(states):
    return states[:, 2 * _size(states) + 1].astype(np.int8)


@njit(cache=True)
def to_play(states):
    return (states[:, 2 * _size(states)] % 2).astype(np.int8)


@njit(cache=True)
def encode(states, out):
    size = _size(states)
    out[:] = 0.0
    for i in range(states.shape[0]):
        for r in range(size):
            for c in range(size):
                out[i, 0, r, c] = (states[i, r] >> c) & 1
                out[i, 1, r, c] = (states[i, size + r] >> c) & 1


@njit(cache=True)
def playouts(states, rng):
    """Uniform random playouts to the end; rng is a [1] or [n] uint64 generator array."""
    size = _size(states)
    values = np.zeros(states.shape[0], np.float32)
    for i in range(states.shape[0]):
        g = i if rng.shape[0] > 1 else 0
        s = states[i].copy()
        sign = 1.0  # +1 while the original mover is to move
        while s[2 * size + 1] == ONGOING:
            k = below(rng, g, size * size - s[2 * size])  # the k-th empty cell
            for a in range(size * size):
                if ((s[a // size] | s[size + a // size]) >> (a % size)) & 1 == 0:
                    if k == 0:
                        _place(s, size, a)
                        break
                    k -= 1
            sign = -sign
        values[i] = sign * s[2 * size + 1]
    return values


def render(state):
    """The board as text, top row first: X moves first, O second, . empty."""
    size = (len(state) - 2) // 2
    first_to_move = state[2 * size] % 2 == 0
    x_rows, o_rows = (state[:size], state[size:2 * size])[::1 if first_to_move else -1]
    lines = []
    for r in range(size):
        cells = ["X" if x_rows[r] >> c & 1 else "O" if o_rows[r] >> c & 1 else "."
                 for c in range(size)]
        lines.append(f"{size - r:2d} " + " ".join(cells))
    lines.append("   " + " ".join(GTP_COLUMNS[:size]))
    return "\n".join(lines)


def _game(name: str, size: int, gym_id: str, openspiel: str, alpha: float) -> Game:
    symmetries = dihedral(size)
    return Game(
        name=name, num_actions=size * size, state_size=2 * size + 2, planes=(2, size, size),
        max_moves=size * size, dirichlet_alpha=alpha,
        move_names=tuple(coordinates(size, GTP_COLUMNS, ascending=False)),
        notation=f"GTP points a1-{GTP_COLUMNS[size - 1]}{size} (row 1 at the bottom, no column "
                 f"i), separated by spaces, e.g. {GTP_COLUMNS[size // 2]}{size // 2 + 1}",
        gym_id=gym_id, illegal_message="point {move} is taken", cell_perms=symmetries,
        action_perms=symmetries, new_states=functools.partial(new_states, size), play=play,
        legal_masks=legal_masks, outcomes=outcomes, to_play=to_play, encode=encode,
        playouts=playouts, render=render, openspiel=openspiel, sgf_game=4)  # SGF: GM[4]


GAMES = (_game("gomoku", 15, "zeroplay/Gomoku-v0", "gomoku", 0.05),
         _game("gomoku9", 9, "zeroplay/Gomoku9x9-v0", "gomoku(size=9)", 0.15))
