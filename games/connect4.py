"""Connect Four on bitboards (7 columns x 6 rows), after Pascal Pons' layout.

Bit `col * 7 + row` is the cell at column col, row row (row 0 at the bottom); the 7th bit of each
column stays empty so that shifted alignments never wrap. State row (int64):
    [0] stones of the player to move   [1] all stones   [2] moves played   [3] outcome
"""
import numpy as np
from numba import njit

from games.boards import column_kernels
from games.interface import ONGOING
from games.rng import below

NAME = "connect4"
WIDTH, HEIGHT = 7, 6
NUM_ACTIONS = WIDTH
STATE_SIZE = 4
PLANES = (2, HEIGHT, WIDTH)
MAX_MOVES = WIDTH * HEIGHT
DIRICHLET_ALPHA = 1.0
MOVE_NAMES = "1234567"
NOTATION = "columns 1-7, e.g. 4453"
GYM_ID = "zeroplay/ConnectFour-v0"
OPENSPIEL = "connect_four"
ILLEGAL_MESSAGE = "column {move} is full"

CUR, ALL, PLY, OUTCOME = 0, 1, 2, 3
BOTTOM = np.array([1 << (7 * c) for c in range(WIDTH)], np.int64)
TOP = np.array([1 << (7 * c + HEIGHT - 1) for c in range(WIDTH)], np.int64)

_mirror_cells = np.array([r * WIDTH + (WIDTH - 1 - c) for r in range(HEIGHT) for c in range(WIDTH)])
SYMMETRIES = (
    np.stack([np.arange(HEIGHT * WIDTH), _mirror_cells]),
    np.stack([np.arange(WIDTH), np.arange(WIDTH)[::-1]]),
)


def new_states(n):
    states = np.zeros((n, STATE_SIZE), np.int64)
    states[:, OUTCOME] = ONGOING
    return states


@njit(cache=True, inline="always")
def _aligned(stones):
    """True when `stones` holds four in a row in any direction."""
    for shift in (1, 7, 6, 8):  # vertical, horizontal, two diagonals
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


@njit(cache=True, inline="always")
def _drop(cur, all_, ply, col):
    """Play column col; return the new (cur, all, ply, outcome)."""
    opponent = cur ^ all_
    all_ = all_ | (all_ + BOTTOM[col])
    ply += 1
    if _aligned(opponent ^ all_):  # the mover's stones, including the new one
        return opponent, all_, ply, -1
    return opponent, all_, ply, 0 if ply == MAX_MOVES else ONGOING


@njit(cache=True)
def play(states, actions):
    for i in range(states.shape[0]):
        s = states[i]
        s[CUR], s[ALL], s[PLY], s[OUTCOME] = _drop(s[CUR], s[ALL], s[PLY], actions[i])


@njit(cache=True)
def legal_masks(states):
    masks = np.zeros((states.shape[0], NUM_ACTIONS), np.bool_)
    for i in range(states.shape[0]):
        if states[i, OUTCOME] == ONGOING:
            for c in range(WIDTH):
                masks[i, c] = (states[i, ALL] & TOP[c]) == 0
    return masks


outcomes, to_play = column_kernels(OUTCOME, PLY)


@njit(cache=True)
def encode(states, out):
    out[:] = 0.0
    for i in range(states.shape[0]):
        mine = states[i, CUR]
        theirs = mine ^ states[i, ALL]
        for c in range(WIDTH):
            for r in range(HEIGHT):
                bit = np.int64(1) << (7 * c + r)
                if mine & bit:
                    out[i, 0, HEIGHT - 1 - r, c] = 1.0
                elif theirs & bit:
                    out[i, 1, HEIGHT - 1 - r, c] = 1.0


@njit(cache=True)
def playouts(states, rng):
    """Uniform random playouts to the end; rng is a [1] or [n] uint64 generator array."""
    values = np.zeros(states.shape[0], np.float32)
    cols = np.empty(WIDTH, np.int64)
    for i in range(states.shape[0]):
        g = i if rng.shape[0] > 1 else 0
        cur, all_, ply, outcome = states[i, CUR], states[i, ALL], states[i, PLY], states[i, OUTCOME]
        sign = 1.0  # +1 while the original mover is to move
        while outcome == ONGOING:
            n = 0
            for c in range(WIDTH):
                if (all_ & TOP[c]) == 0:
                    cols[n] = c
                    n += 1
            col = cols[below(rng, g, n)]
            cur, all_, ply, outcome = _drop(cur, all_, ply, col)
            sign = -sign
        values[i] = sign * outcome
    return values


@njit(cache=True)
def proxy_score(states):
    """[n] float32: a cheap proxy critic, the mover's stones in the centre column minus the
    opponent's, over 3, clipped to [-1, 1] (a "trivial detail" that a proxy rewards)."""
    scores = np.zeros(states.shape[0], np.float32)
    for i in range(states.shape[0]):
        mine = states[i, CUR]
        theirs = mine ^ states[i, ALL]
        diff = 0
        for r in range(HEIGHT):
            bit = np.int64(1) << (7 * (WIDTH // 2) + r)
            diff += (1 if mine & bit else 0) - (1 if theirs & bit else 0)
        scores[i] = min(max(diff / 3.0, -1.0), 1.0)
    return scores


def render(state):
    """The board as text, top row first: X moves first, O second, . empty."""
    first_to_move = state[PLY] % 2 == 0
    mine, theirs = state[CUR], state[CUR] ^ state[ALL]
    x_stones, o_stones = (mine, theirs) if first_to_move else (theirs, mine)
    lines = []
    for r in range(HEIGHT - 1, -1, -1):
        row = []
        for c in range(WIDTH):
            bit = 1 << (7 * c + r)
            row.append("X" if x_stones & bit else "O" if o_stones & bit else ".")
        lines.append(" ".join(row))
    lines.append(" ".join(MOVE_NAMES))
    return "\n".join(lines)
