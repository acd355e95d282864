"""Othello (Reversi) on 8x8 bitboards, with the rules of OpenSpiel's `othello`.

Bit `row * 8 + col` is the square at column col (a-h) and row row (1-8 from the top), and the
action that plays there; action 64 passes, legal only when the player to move has no other
move. The game ends when neither player can move; more discs wins. Black moves first.
State row (int64, the bitboards' bits as uint64 inside the kernels):
    [0] discs of the player to move   [1] opponent's discs   [2] moves played   [3] outcome
"""
import numpy as np
from numba import njit

from games.boards import column_kernels, coordinates, dihedral, with_pass
from games.interface import ONGOING
from games.rng import below

NAME = "othello"
SIZE = 8
PASS = SIZE * SIZE
NUM_ACTIONS = PASS + 1
STATE_SIZE = 4
PLANES = (2, SIZE, SIZE)
MAX_MOVES = 2 * (SIZE * SIZE - 4)  # 60 discs, each after at most one pass
DIRICHLET_ALPHA = 0.5
SCORED = True
MOVE_NAMES = (*coordinates(SIZE, "abcdefgh", ascending=True), "pass")
NOTATION = "squares a1-h8 (row 1 at the top) or pass, separated by spaces, e.g. d3 c5"
GYM_ID = "zeroplay/Othello-v0"
OPENSPIEL = "othello"
ILLEGAL_MESSAGE = "a move must flip discs, and a pass is legal only when no move is"
# 4 of the square's 8 symmetries keep the initial position: the identity, the two diagonal
# reflections and the half turn (a quarter turn or a mirror swaps the colours of the centre)
_KEEP = [k for k, p in enumerate(dihedral(SIZE)) if {p[28], p[35]} == {28, 35}]
SYMMETRIES = (dihedral(SIZE)[_KEEP], with_pass(dihedral(SIZE)[_KEEP]))

MINE, THEIRS, PLY, OUTCOME = 0, 1, 2, 3
_NOT_A = np.uint64(0xFEFEFEFEFEFEFEFE)  # every square but column a's
_NOT_H = np.uint64(0x7F7F7F7F7F7F7F7F)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
# the 8 directions: shift left (towards higher bits) or right by SHIFTS[d], then keep MASKS[d]
SHIFTS = np.array([1, 8, 9, 7, 1, 8, 9, 7], np.uint64)
LEFT = np.array([True, True, True, True, False, False, False, False])
MASKS = np.array([_NOT_A, _ALL, _NOT_A, _NOT_H, _NOT_H, _ALL, _NOT_H, _NOT_A], np.uint64)
_ONE = np.uint64(1)
# black (first to move) on e4 and d5, white on d4 and e5
_BLACK, _WHITE = (1 << 28) | (1 << 35), (1 << 27) | (1 << 36)


def new_states(n):
    states = np.zeros((n, STATE_SIZE), np.int64)
    states[:, MINE], states[:, THEIRS], states[:, OUTCOME] = _BLACK, _WHITE, ONGOING
    return states


@njit(cache=True, inline="always")
def _shift(b, d):
    return ((b << SHIFTS[d]) if LEFT[d] else (b >> SHIFTS[d])) & MASKS[d]


@njit(cache=True)
def _moves(own, opp):
    """The squares where the owner of `own` may play (uint64 bitboards)."""
    empty = ~(own | opp)
    moves = np.uint64(0)
    for d in range(8):
        run = _shift(own, d) & opp
        for _ in range(5):
            run |= _shift(run, d) & opp
        moves |= _shift(run, d) & empty
    return moves


@njit(cache=True)
def _flips(own, opp, square):
    """The opponent's discs that a disc on `square` turns over."""
    flips = np.uint64(0)
    for d in range(8):
        run = np.uint64(0)
        x = _shift(_ONE << np.uint64(square), d)
        while x & opp:
            run |= x
            x = _shift(x, d)
        if x & own:
            flips |= run
    return flips


@njit(cache=True)
def _count(b):
    n = 0
    while b:
        b &= b - _ONE
        n += 1
    return n


@njit(cache=True)
def _move(own, opp, ply, action):
    """Play action for the owner of `own`; return the new (mine, theirs, ply, outcome), the
    player to move first. The game ends when neither player can move."""
    if action != PASS:
        flips = _flips(own, opp, action)
        own, opp = own | flips | (_ONE << np.uint64(action)), opp & ~flips
    ply += 1
    if _moves(opp, own) or _moves(own, opp):
        return opp, own, ply, ONGOING
    diff = _count(opp) - _count(own)  # for the player to move: the owner of `opp`
    return opp, own, ply, 1 if diff > 0 else -1 if diff < 0 else 0


@njit(cache=True)
def play(states, actions):
    for i in range(states.shape[0]):
        s = states[i]
        mine, theirs, s[PLY], s[OUTCOME] = _move(np.uint64(s[MINE]), np.uint64(s[THEIRS]),
                                                 s[PLY], actions[i])
        s[MINE], s[THEIRS] = np.int64(mine), np.int64(theirs)


@njit(cache=True)
def legal_masks(states):
    masks = np.zeros((states.shape[0], NUM_ACTIONS), np.bool_)
    for i in range(states.shape[0]):
        if states[i, OUTCOME] == ONGOING:
            moves = _moves(np.uint64(states[i, MINE]), np.uint64(states[i, THEIRS]))
            masks[i, PASS] = moves == 0
            for a in range(PASS):
                masks[i, a] = (moves >> np.uint64(a)) & _ONE
    return masks


outcomes, to_play = column_kernels(OUTCOME, PLY)


@njit(cache=True)
def encode(states, out):
    out[:] = 0.0
    for i in range(states.shape[0]):
        mine, theirs = np.uint64(states[i, MINE]), np.uint64(states[i, THEIRS])
        for a in range(PASS):
            bit = _ONE << np.uint64(a)
            if mine & bit:
                out[i, 0, a // SIZE, a % SIZE] = 1.0
            elif theirs & bit:
                out[i, 1, a // SIZE, a % SIZE] = 1.0


@njit(cache=True)
def playouts(states, rng):
    """Uniform random playouts to the end; rng is a [1] or [n] uint64 generator array."""
    values = np.zeros(states.shape[0], np.float32)
    for i in range(states.shape[0]):
        g = i if rng.shape[0] > 1 else 0
        own, opp = np.uint64(states[i, MINE]), np.uint64(states[i, THEIRS])
        ply, outcome = states[i, PLY], states[i, OUTCOME]
        sign = 1.0  # +1 while the original mover is to move
        while outcome == ONGOING:
            moves = _moves(own, opp)
            action = PASS
            if moves:
                for _ in range(below(rng, g, _count(moves))):
                    moves &= moves - _ONE  # drop the lowest move
                action = _count((moves & (~moves + _ONE)) - _ONE)  # the lowest one left
            own, opp, ply, outcome = _move(own, opp, ply, action)
            sign = -sign
        values[i] = sign * outcome
    return values


def render(state):
    """The board as text, row 1 at the top: X (black) moves first, O second, . empty."""
    first_to_move = state[PLY] % 2 == 0
    mine, theirs = int(state[MINE]) & (2 ** 64 - 1), int(state[THEIRS]) & (2 ** 64 - 1)
    x_discs, o_discs = (mine, theirs) if first_to_move else (theirs, mine)
    lines = ["  a b c d e f g h"]
    for r in range(SIZE):
        cells = ["X" if x_discs >> (r * SIZE + c) & 1 else "O" if o_discs >> (r * SIZE + c) & 1
                 else "." for c in range(SIZE)]
        lines.append(f"{r + 1} " + " ".join(cells))
    return "\n".join(lines)
