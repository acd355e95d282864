"""Tic-tac-toe on 9-bit boards; cell i (0-8) is row-major from the top left.

State row (int64): [0] stones of the player to move  [1] opponent's stones  [2] moves  [3] outcome
"""
import numpy as np
from numba import njit

from games.boards import column_kernels, dihedral
from games.interface import ONGOING
from games.rng import below

NAME = "tictactoe"
NUM_ACTIONS = 9
STATE_SIZE = 4
PLANES = (2, 3, 3)
MAX_MOVES = 9
DIRICHLET_ALPHA = 1.0
MOVE_NAMES = "123456789"
NOTATION = "cells 1-9, row-major from the top left"
GYM_ID = "zeroplay/TicTacToe-v0"
OPENSPIEL = "tic_tac_toe"
ILLEGAL_MESSAGE = "cell {move} is taken"

MINE, THEIRS, PLY, OUTCOME = 0, 1, 2, 3
LINES = np.array([0b000000111, 0b000111000, 0b111000000, 0b001001001, 0b010010010,
                  0b100100100, 0b100010001, 0b001010100], np.int64)
FULL = 0b111111111


SYMMETRIES = (dihedral(3), dihedral(3))  # actions are cells


def new_states(n):
    states = np.zeros((n, STATE_SIZE), np.int64)
    states[:, OUTCOME] = ONGOING
    return states


@njit(cache=True, inline="always")
def _place(mine, theirs, ply, cell):
    """Play cell for the player to move; return the new (mine, theirs, ply, outcome)."""
    mover = mine | (np.int64(1) << cell)
    ply += 1
    for line in LINES:
        if mover & line == line:
            return theirs, mover, ply, -1
    return theirs, mover, ply, 0 if ply == MAX_MOVES else ONGOING


@njit(cache=True)
def play(states, actions):
    for i in range(states.shape[0]):
        s = states[i]
        s[MINE], s[THEIRS], s[PLY], s[OUTCOME] = _place(s[MINE], s[THEIRS], s[PLY], actions[i])


@njit(cache=True)
def legal_masks(states):
    masks = np.zeros((states.shape[0], NUM_ACTIONS), np.bool_)
    for i in range(states.shape[0]):
        if states[i, OUTCOME] == ONGOING:
            taken = states[i, MINE] | states[i, THEIRS]
            for a in range(NUM_ACTIONS):
                masks[i, a] = (taken >> a) & 1 == 0
    return masks


outcomes, to_play = column_kernels(OUTCOME, PLY)


@njit(cache=True)
def encode(states, out):
    out[:] = 0.0
    for i in range(states.shape[0]):
        for a in range(NUM_ACTIONS):
            if (states[i, MINE] >> a) & 1:
                out[i, 0, a // 3, a % 3] = 1.0
            elif (states[i, THEIRS] >> a) & 1:
                out[i, 1, a // 3, a % 3] = 1.0


@njit(cache=True)
def playouts(states, rng):
    """Uniform random playouts to the end; rng is a [1] or [n] uint64 generator array."""
    values = np.zeros(states.shape[0], np.float32)
    free = np.empty(NUM_ACTIONS, np.int64)
    for i in range(states.shape[0]):
        g = i if rng.shape[0] > 1 else 0
        mine, theirs, ply, outcome = states[i, MINE], states[i, THEIRS], states[i, PLY], states[i, OUTCOME]
        sign = 1.0
        while outcome == ONGOING:
            n = 0
            for a in range(NUM_ACTIONS):
                if ((mine | theirs) >> a) & 1 == 0:
                    free[n] = a
                    n += 1
            mine, theirs, ply, outcome = _place(mine, theirs, ply, free[below(rng, g, n)])
            sign = -sign
        values[i] = sign * outcome
    return values


@njit(cache=True)
def proxy_score(states):
    """[n] float32: a cheap proxy critic, +1 when the mover holds the centre cell, -1 when the
    opponent does, else 0 (a "trivial detail" that a proxy rewards)."""
    scores = np.zeros(states.shape[0], np.float32)
    for i in range(states.shape[0]):
        if (states[i, MINE] >> 4) & 1:
            scores[i] = 1.0
        elif (states[i, THEIRS] >> 4) & 1:
            scores[i] = -1.0
    return scores


def render(state):
    """The board as text: X moves first, O second, . empty."""
    first_to_move = state[PLY] % 2 == 0
    x_stones, o_stones = ((state[MINE], state[THEIRS]) if first_to_move
                          else (state[THEIRS], state[MINE]))
    cells = ["X" if (x_stones >> a) & 1 else "O" if (o_stones >> a) & 1 else "."
             for a in range(NUM_ACTIONS)]
    return "\n".join(" ".join(cells[r * 3:r * 3 + 3]) for r in range(3))
