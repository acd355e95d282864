"""Go on 9x9 with Tromp-Taylor rules: area scoring, komi 7.5, positional superko, no suicide.

Action `row * 9 + col` plays at column col (a-j, no i) and row row + 1, row 1 at the bottom
(GTP's `a1` is action 0, the lower left corner: OpenSpiel's `go` numbers its points so); action
81 passes, always legal. Black moves first. A move is illegal on an occupied point, where its
stone's chain would have no liberty once the opponent's chains without one are captured
(suicide), or where it would recreate the board (the stones, whoever is to move) of any earlier
position of the game (positional superko). The game ends after two passes in a row or at
MAX_MOVES = 162 moves, passes included (OpenSpiel's default for 9x9); the result is Black's
area (stones and the empty regions that reach only black stones) minus White's, minus komi:
`area_score(state)`, positive when Black wins, never 0.

Differences from OpenSpiel's `go(board_size=9,komi=7.5,max_game_length=162)`, which otherwise
plays the same games with the same action numbers: OpenSpiel refuses only the simple ko
recapture and ends the game as a draw when a move repeats an earlier board; here that move is
illegal and the game goes on. Superko is checked by comparing 64-bit hashes of the boards: a
collision (odds about 2^-64 a comparison) would refuse a legal move.

Bit p of a bitboard is point p; a board's 81 bits are two words (lo: points 0-63, hi: 64-80).
State row (int64; the bitboards as uint64 inside the kernels):
    [0, 1] black stones (lo, hi)   [2, 3] white stones   [4] moves played   [5] passes in a row
    [6] moves played when the last capture was made (0: none)   [7] outcome
    [8 + k] hash of the board after k moves, k = 0..MAX_MOVES
"""
import numpy as np
from numba import njit

from games.boards import GTP_COLUMNS, column_kernels, coordinates, dihedral, with_pass
from games.interface import ONGOING
from games.rng import below

NAME = "go9"
SIZE = 9
PASS = SIZE * SIZE
NUM_ACTIONS = PASS + 1
MAX_MOVES = 2 * SIZE * SIZE
KOMI = 7.5
BLACK_LO, BLACK_HI, WHITE_LO, WHITE_HI, PLY, PASSES, CAPTURED, OUTCOME, HISTORY = range(9)
STATE_SIZE = HISTORY + MAX_MOVES + 1
# the mover's stones, the opponent's, ones when Black is to move (komi makes the colours
# unequal), and the empty points where the player to move may not play (suicide or superko)
PLANES = (4, SIZE, SIZE)
DIRICHLET_ALPHA = 0.13  # AlphaZero's 0.03 for 19x19 Go, times 361 / 82 actions
SCORED = True
MOVE_NAMES = (*coordinates(SIZE, GTP_COLUMNS, ascending=True), "pass")
NOTATION = "GTP points a1-j9 (row 1 at the bottom, no column i) or pass, separated by spaces, " \
           "e.g. e5 c3"
GYM_ID = "zeroplay/Go9x9-v0"
SGF_GAME, SGF_RULES = 1, "Tromp-Taylor"  # SGF's GM and RU
OPENSPIEL = f"go(board_size={SIZE},komi={KOMI},max_game_length={MAX_MOVES})"
ILLEGAL_MESSAGE = ("point {move} is taken, or a stone there would have no liberty (suicide) or "
                   "repeat an earlier position (positional superko)")
SYMMETRIES = (dihedral(SIZE), with_pass(dihedral(SIZE)))


def _words(bits: int) -> tuple:
    """A Python int of 81 bits as its two uint64 words (lo, hi)."""
    return np.uint64(bits & (2 ** 64 - 1)), np.uint64(bits >> 64)


_COLUMN_A = sum(1 << (r * SIZE) for r in range(SIZE))
_ALL_HI = _words(2 ** PASS - 1)[1]  # the hi word's 17 points (every lo bit is a point)
_NOT_A_LO, _NOT_A_HI = _words(2 ** PASS - 1 - _COLUMN_A)  # every point but column a's
_NOT_J_LO, _NOT_J_HI = _words(2 ** PASS - 1 - (_COLUMN_A << (SIZE - 1)))
_ZERO, _ONE = np.uint64(0), np.uint64(1)
_9, _55, _63 = np.uint64(9), np.uint64(55), np.uint64(63)
_M1, _M2, _M4 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333), \
    np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def new_states(n):
    states = np.zeros((n, STATE_SIZE), np.int64)
    states[:, OUTCOME] = ONGOING
    return states


# ---- bitboards of 81 bits as two words ---------------------------------------------------------

@njit(cache=True, inline="always")
def _neighbours(lo, hi):
    """The points next to a point of (lo, hi): east, west, north (up a row) and south."""
    e_lo, e_hi = (lo << _ONE) & _NOT_A_LO, ((hi << _ONE) | (lo >> _63)) & _NOT_A_HI
    w_lo, w_hi = ((lo >> _ONE) | (hi << _63)) & _NOT_J_LO, (hi >> _ONE) & _NOT_J_HI
    n_lo, n_hi = lo << _9, ((hi << _9) | (lo >> _55)) & _ALL_HI
    s_lo, s_hi = (lo >> _9) | (hi << _55), hi >> _9
    return e_lo | w_lo | n_lo | s_lo, e_hi | w_hi | n_hi | s_hi


@njit(cache=True)
def _chain(lo, hi, in_lo, in_hi):
    """The points of (in_lo, in_hi) connected to the points (lo, hi) through it."""
    while True:
        n_lo, n_hi = _neighbours(lo, hi)
        n_lo, n_hi = (n_lo | lo) & in_lo, (n_hi | hi) & in_hi
        if n_lo == lo and n_hi == hi:
            return lo, hi
        lo, hi = n_lo, n_hi


@njit(cache=True, inline="always")
def _popcount(x):
    x -= (x >> _ONE) & _M1
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True, inline="always")
def _count(lo, hi):
    return _popcount(lo) + _popcount(hi)


@njit(cache=True, inline="always")
def _bit(p):
    if p < 64:
        return _ONE << np.uint64(p), _ZERO
    return _ZERO, _ONE << np.uint64(p - 64)


@njit(cache=True, inline="always")
def _has(lo, hi, p):
    """1.0 if point p is in (lo, hi), else 0.0."""
    return np.float32((lo >> np.uint64(p)) & _ONE if p < 64 else (hi >> np.uint64(p - 64)) & _ONE)


@njit(cache=True, inline="always")
def _lowest(lo, hi):
    """The lowest point of a nonempty (lo, hi)."""
    if lo:
        return _popcount((lo & (~lo + _ONE)) - _ONE)
    return 64 + _popcount((hi & (~hi + _ONE)) - _ONE)


@njit(cache=True)
def _nth(lo, hi, k):
    """The k-th lowest point of (lo, hi), k < its count."""
    if k >= _popcount(lo):
        k, lo = k - _popcount(lo), _ZERO
    for _ in range(k):
        if lo:
            lo &= lo - _ONE
        else:
            hi &= hi - _ONE
    return _lowest(lo, hi)


@njit(cache=True, inline="always")
def _mix(h):
    """splitmix64's finalizer."""
    h = (h ^ (h >> np.uint64(30))) * _MIX1
    h = (h ^ (h >> np.uint64(27))) * _MIX2
    return h ^ (h >> np.uint64(31))


@njit(cache=True)
def _hash(black_lo, black_hi, white_lo, white_hi):
    return np.int64(_mix(_mix(_mix(_mix(black_lo) ^ black_hi) ^ white_lo) ^ white_hi))


# ---- rules -------------------------------------------------------------------------------------

@njit(cache=True)
def _area(black_lo, black_hi, white_lo, white_hi):
    """Black's area minus White's, minus komi: stones, and each empty region that reaches
    stones of one colour only."""
    score = _count(black_lo, black_hi) - _count(white_lo, white_hi)
    left_lo, left_hi = ~(black_lo | white_lo), ~(black_hi | white_hi) & _ALL_HI  # empty
    empty_lo, empty_hi = left_lo, left_hi
    while left_lo | left_hi:
        r_lo, r_hi = _chain(*_bit(_lowest(left_lo, left_hi)), empty_lo, empty_hi)
        left_lo, left_hi = left_lo & ~r_lo, left_hi & ~r_hi
        n_lo, n_hi = _neighbours(r_lo, r_hi)
        black = (n_lo & black_lo) | (n_hi & black_hi) != 0
        white = (n_lo & white_lo) | (n_hi & white_hi) != 0
        if black != white:
            score += _count(r_lo, r_hi) if black else -_count(r_lo, r_hi)
    return score - KOMI


@njit(cache=True)
def area_score(state):
    """Black's area minus White's minus komi by Tromp-Taylor (positive: Black wins), of one
    state row [S] int64, whether the game is over or not."""
    return _area(np.uint64(state[BLACK_LO]), np.uint64(state[BLACK_HI]),
                 np.uint64(state[WHITE_LO]), np.uint64(state[WHITE_HI]))


@njit(cache=True, inline="always")
def _stones(s):
    """(own lo, own hi, opp lo, opp hi): the stones of the player to move, then the other's."""
    black = np.uint64(s[BLACK_LO]), np.uint64(s[BLACK_HI])
    white = np.uint64(s[WHITE_LO]), np.uint64(s[WHITE_HI])
    if s[PLY] % 2 == 0:
        return black[0], black[1], white[0], white[1]
    return white[0], white[1], black[0], black[1]


@njit(cache=True)
def _after(s, p):
    """(own lo, own hi, opp lo, opp hi, captured, legal, hash): the board after the player to
    move puts a stone on the empty point p and the opponent's chains left without a liberty
    are removed; whether any were; whether the move is legal (no suicide, no superko); the
    new board's hash."""
    own_lo, own_hi, opp_lo, opp_hi = _stones(s)
    p_lo, p_hi = _bit(p)
    own_lo, own_hi = own_lo | p_lo, own_hi | p_hi
    empty_lo, empty_hi = ~(own_lo | opp_lo), ~(own_hi | opp_hi) & _ALL_HI
    n_lo, n_hi = _neighbours(p_lo, p_hi)
    t_lo, t_hi = n_lo & opp_lo, n_hi & opp_hi  # the opponent's stones next to p
    captured = False
    while t_lo | t_hi:
        c_lo, c_hi = _chain(*_bit(_lowest(t_lo, t_hi)), opp_lo, opp_hi)
        t_lo, t_hi = t_lo & ~c_lo, t_hi & ~c_hi
        l_lo, l_hi = _neighbours(c_lo, c_hi)
        if (l_lo & empty_lo) | (l_hi & empty_hi) == 0:
            opp_lo, opp_hi, captured = opp_lo & ~c_lo, opp_hi & ~c_hi, True
    legal = captured or (n_lo & empty_lo) | (n_hi & empty_hi) != 0  # a capture frees a point by p
    if not legal:
        c_lo, c_hi = _chain(p_lo, p_hi, own_lo, own_hi)
        l_lo, l_hi = _neighbours(c_lo, c_hi)
        legal = (l_lo & empty_lo) | (l_hi & empty_hi) != 0
    black = s[PLY] % 2 == 0
    h = _hash(own_lo, own_hi, opp_lo, opp_hi) if black else _hash(opp_lo, opp_hi, own_lo, own_hi)
    # a board since the last capture holds only stones of the board now: a move, which adds
    # the stone on p, can repeat only a board from before it
    for k in range(s[CAPTURED] if legal else 0):
        if s[HISTORY + k] == h:
            legal = False
            break
    return own_lo, own_hi, opp_lo, opp_hi, captured, legal, h


@njit(cache=True)
def _end(s):
    """Set the outcome after a move: the game ends after two passes in a row or MAX_MOVES."""
    if s[PASSES] < 2 and s[PLY] < MAX_MOVES:
        s[OUTCOME] = ONGOING
    else:
        black_wins = area_score(s) > 0
        s[OUTCOME] = 1 if black_wins == (s[PLY] % 2 == 0) else -1


@njit(cache=True)
def _pass(s):
    s[PLY] += 1
    s[PASSES] += 1
    s[HISTORY + s[PLY]] = s[HISTORY + s[PLY] - 1]
    _end(s)


@njit(cache=True)
def _place(s, own_lo, own_hi, opp_lo, opp_hi, captured, h):
    """Play the move that `_after` described."""
    first = BLACK_LO if s[PLY] % 2 == 0 else WHITE_LO
    second = WHITE_LO if first == BLACK_LO else BLACK_LO
    s[first], s[first + 1] = np.int64(own_lo), np.int64(own_hi)
    s[second], s[second + 1] = np.int64(opp_lo), np.int64(opp_hi)
    s[PLY] += 1
    s[PASSES] = 0
    if captured:
        s[CAPTURED] = s[PLY]
    s[HISTORY + s[PLY]] = h
    _end(s)


@njit(cache=True)
def _legal_points(s):
    """The points where the player to move may play, as (lo, hi)."""
    own_lo, own_hi, opp_lo, opp_hi = _stones(s)
    empty_lo, empty_hi = ~(own_lo | opp_lo), ~(own_hi | opp_hi) & _ALL_HI
    e_lo, e_hi = _neighbours(empty_lo, empty_hi)
    o_lo, o_hi = _neighbours(opp_lo, opp_hi)
    # next to an empty point and to no opponent's stone: no suicide, no capture
    free_lo, free_hi = empty_lo & e_lo & ~o_lo, empty_hi & e_hi & ~o_hi
    if s[CAPTURED] == 0:  # and no earlier board to repeat
        legal_lo, legal_hi = free_lo, free_hi
        left_lo, left_hi = empty_lo & ~free_lo, empty_hi & ~free_hi
    else:
        legal_lo, legal_hi, left_lo, left_hi = _ZERO, _ZERO, empty_lo, empty_hi
    while left_lo | left_hi:
        p = _lowest(left_lo, left_hi)
        p_lo, p_hi = _bit(p)
        left_lo, left_hi = left_lo & ~p_lo, left_hi & ~p_hi
        if _after(s, p)[5]:
            legal_lo, legal_hi = legal_lo | p_lo, legal_hi | p_hi
    return legal_lo, legal_hi


@njit(cache=True)
def play(states, actions):
    for i in range(states.shape[0]):
        s = states[i]
        if actions[i] == PASS:
            _pass(s)
        else:
            own_lo, own_hi, opp_lo, opp_hi, captured, _, h = _after(s, actions[i])
            _place(s, own_lo, own_hi, opp_lo, opp_hi, captured, h)


@njit(cache=True)
def legal_masks(states):
    masks = np.zeros((states.shape[0], NUM_ACTIONS), np.bool_)
    for i in range(states.shape[0]):
        if states[i, OUTCOME] == ONGOING:
            lo, hi = _legal_points(states[i])
            for p in range(PASS):
                masks[i, p] = _has(lo, hi, p) > 0
            masks[i, PASS] = True
    return masks


outcomes, to_play = column_kernels(OUTCOME, PLY)


@njit(cache=True)
def encode(states, out):
    out[:] = 0.0
    for i in range(states.shape[0]):
        s = states[i]
        own_lo, own_hi, opp_lo, opp_hi = _stones(s)
        legal_lo, legal_hi = _legal_points(s)
        barred_lo, barred_hi = ~(own_lo | opp_lo | legal_lo), ~(own_hi | opp_hi | legal_hi)
        out[i, 2] = 1.0 if s[PLY] % 2 == 0 else 0.0
        for p in range(PASS):
            r, c = p // SIZE, p % SIZE
            out[i, 0, r, c] = _has(own_lo, own_hi, p)
            out[i, 1, r, c] = _has(opp_lo, opp_hi, p)
            out[i, 3, r, c] = _has(barred_lo, barred_hi, p)


@njit(cache=True)
def playouts(states, rng):
    """Random playouts to the end; rng is a [1] or [n] uint64 generator array. Each move is
    uniform among the legal moves but those that fill one of the mover's own eyes (an empty
    point whose neighbours are all the mover's stones); a player with none of those passes."""
    values = np.zeros(states.shape[0], np.float32)
    for i in range(states.shape[0]):
        g = i if rng.shape[0] > 1 else 0
        s = states[i].copy()
        sign = 1.0  # +1 while the original mover is to move
        while s[OUTCOME] == ONGOING:
            own_lo, own_hi, opp_lo, opp_hi = _stones(s)
            empty_lo, empty_hi = ~(own_lo | opp_lo), ~(own_hi | opp_hi) & _ALL_HI
            # points next to a point that is not the mover's: the empty points but eyes
            x_lo, x_hi = _neighbours(~own_lo, ~own_hi & _ALL_HI)
            left_lo, left_hi = empty_lo & x_lo, empty_hi & x_hi
            n = _count(left_lo, left_hi)
            while n:
                p = _nth(left_lo, left_hi, below(rng, g, n))
                own_lo, own_hi, opp_lo, opp_hi, captured, legal, h = _after(s, p)
                if legal:
                    _place(s, own_lo, own_hi, opp_lo, opp_hi, captured, h)
                    break
                p_lo, p_hi = _bit(p)
                left_lo, left_hi, n = left_lo & ~p_lo, left_hi & ~p_hi, n - 1
            if n == 0:
                _pass(s)
            sign = -sign
        values[i] = sign * s[OUTCOME]
    return values


def render(state):
    """The board as text, row 9 at the top: X (black) moves first, O second, . empty."""
    bits = [int(state[k]) & (2 ** 64 - 1) for k in (BLACK_LO, BLACK_HI, WHITE_LO, WHITE_HI)]
    black, white = bits[0] | bits[1] << 64, bits[2] | bits[3] << 64
    lines = []
    for r in reversed(range(SIZE)):
        cells = ["X" if black >> (r * SIZE + c) & 1 else "O" if white >> (r * SIZE + c) & 1
                 else "." for c in range(SIZE)]
        lines.append(f"{r + 1} " + " ".join(cells))
    lines.append("  " + " ".join(GTP_COLUMNS[:SIZE]))
    return "\n".join(lines)
