"""A perfect Connect Four solver: negamax with alpha-beta on bitboards, after Pascal Pons'
"Solving Connect Four" (blog.gamesolver.org).

Scores (Pons' convention), always for the player to move: 0 = draw with perfect play; positive =
the player to move wins, by 22 minus the number of stones it has once it plays its winning stone
(a win with one's 4th stone is 18, a quicker win scores higher); negative = it loses, by the
opponent's score. A finished position is scored the same way: lost (the opponent has just made
four) = minus the opponent's score, 22 minus the opponent's stone count; a full board drawn = 0.
So the score of a move is always minus the score of the position it leads to.

The search: bitboards (the state array's own layout, `games.connect4`: bit 7*col+row), only
moves that do not hand the opponent an immediate win, moves ordered centre first and then by how
many winning cells they create, a transposition table of bounds, and a null-window bisection on
the score at the root; the alpha-beta walk runs on an explicit stack (no recursion). The table is a preallocated array (TABLE_SIZE entries, 5 bytes each,
about 42 MB), allocated on first use and kept between calls: it is keyed by the position, so
what it holds stays true. `max_nodes` bounds the work of one solve: past it the answer is
UNSOLVED. A score, once given, is exact whatever the table holds; but whether a position is
settled within a budget depends on it (reset_table() first for answers that depend only on the
position and the budget).

    python -m games.connect4_solver --bench FILE [FILE ...]   time the solver on Pons' sets
"""
from __future__ import annotations

import numpy as np
from numba import njit

from games import connect4 as c4

UNSOLVED = -1000  # the node budget ran out
ILLEGAL = -2000  # move_scores: the column is full, or the game is over

WIDTH, HEIGHT = c4.WIDTH, c4.HEIGHT
CELLS = WIDTH * HEIGHT
NUM_ACTIONS = WIDTH
BOTTOM_MASK = sum(1 << (7 * c) for c in range(WIDTH))
BOARD_MASK = BOTTOM_MASK * ((1 << HEIGHT) - 1)
COLUMN = (1 << HEIGHT) - 1  # the cells of column 0; << 7*col for column col
TABLE_SIZE = 8388593  # a prime just under 2**23: (key % TABLE_SIZE, key % 2**32) fix a key < 2**49
_LOWER = 0x80  # table value: bit 7 set = lower bound, clear = upper bound; the low 7 bits = score+64


# ---- bitboard helpers ------------------------------------------------------------------------
# Plain @njit, not inline="always": inlined at the IR level (numba 0.68), _aligned's early return
# made _solve_one skip the checks after it and return 0 for every position.

@njit(cache=True)
def _popcount(x):
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (x * 0x0101010101010101) >> 56


@njit(cache=True)
def _aligned(stones):
    """True when `stones` holds four in a row."""
    for s in (1, 7, 6, 8):
        pairs = stones & (stones >> s)
        if pairs & (pairs >> (2 * s)):
            return True
    return False


@njit(cache=True)
def _winning_cells(stones, mask):
    """The empty cells (playable or not) that would give `stones` four in a row."""
    r = (stones << 1) & (stones << 2) & (stones << 3)  # vertical: three below
    for s in (7, 6, 8):  # horizontal, and the two diagonals
        p = (stones << s) & (stones << (2 * s))
        r |= p & (stones << (3 * s))
        r |= p & (stones >> s)
        p = (stones >> s) & (stones >> (2 * s))
        r |= p & (stones << s)
        r |= p & (stones >> (3 * s))
    return r & (BOARD_MASK ^ mask)


@njit(cache=True)
def _playable(mask):
    """The cell each non-full column would take next."""
    return (mask + BOTTOM_MASK) & BOARD_MASK


@njit(cache=True)
def _safe_moves(pos, mask):
    """Playable cells that do not let the opponent win at once (0: every move loses at once).
    Assumes the player to move has no immediate win."""
    playable = _playable(mask)
    threats = _winning_cells(pos ^ mask, mask)
    forced = playable & threats
    if forced:
        if forced & (forced - 1):  # two threats to block: lost
            return 0
        playable = forced
    return playable & ~(threats >> 1)  # never play right under an opponent's winning cell


# ---- the search ------------------------------------------------------------------------------

@njit(cache=True)
def _negamax(pos, mask, moves, alpha, beta, keys, vals, ctr, buf):
    """Score of (pos, mask) within [alpha, beta]; the player to move cannot win at once.
    ctr = [nodes, max nodes (0: none), aborted]; buf [CELLS+1, 24]: the explicit stack, a
    row per ply: 0-6 moves, 7-13 their order keys, then pos, mask, alpha, beta, key, slot,
    the number of moves and the next one to try."""
    root = moves
    d = moves
    state = 0  # 0: enter the node at d (pos, mask, alpha, beta); 1: its next move; 2: return v
    v = 0
    while True:
        if state == 0:
            ctr[0] += 1
            if ctr[1] > 0 and ctr[0] > ctr[1]:
                ctr[2] = 1
                return 0
            state = 2
            nxt = _safe_moves(pos, mask)
            if nxt == 0:
                v = -((CELLS - d) // 2)
                continue
            if d >= CELLS - 2:
                v = 0
                continue
            lo = -((CELLS - 2 - d) // 2)  # the opponent cannot win with its next stone
            if alpha < lo:
                alpha = lo
                if alpha >= beta:
                    v = alpha
                    continue
            hi = (CELLS - 1 - d) // 2  # nor can we with ours
            if beta > hi:
                beta = hi
                if alpha >= beta:
                    v = beta
                    continue
            key = pos + mask
            slot = key % TABLE_SIZE
            t = np.int64(vals[slot])
            if t != 0 and np.int64(keys[slot]) == (key & 0xFFFFFFFF):
                s = (t & 0x7F) - 64
                if t & _LOWER:
                    if alpha < s:
                        alpha = s
                        if alpha >= beta:
                            v = alpha
                            continue
                elif beta > s:
                    beta = s
                    if alpha >= beta:
                        v = beta
                        continue
            # order: centre first, then by the number of winning cells the move creates
            n = 0
            for i in range(WIDTH):
                col = WIDTH // 2 + (1 - 2 * (i % 2)) * ((i + 1) // 2)
                mv = nxt & (COLUMN << (7 * col))
                if mv:
                    sc = _popcount(_winning_cells(pos | mv, mask))
                    j = n
                    while j > 0 and buf[d, 7 + j - 1] < sc:
                        buf[d, j] = buf[d, j - 1]
                        buf[d, 7 + j] = buf[d, 7 + j - 1]
                        j -= 1
                    buf[d, j] = mv
                    buf[d, 7 + j] = sc
                    n += 1
            buf[d, 14] = pos
            buf[d, 15] = mask
            buf[d, 16] = alpha
            buf[d, 17] = beta
            buf[d, 18] = key
            buf[d, 19] = slot
            buf[d, 20] = n
            buf[d, 21] = 0
            state = 1
        elif state == 1:
            i = buf[d, 21]
            if i < buf[d, 20]:
                buf[d, 21] = i + 1
                pos = buf[d, 14] ^ buf[d, 15]
                mask = buf[d, 15] | buf[d, i]
                alpha = -buf[d, 17]
                beta = -buf[d, 16]
                d += 1
                state = 0
            else:  # no move reached alpha: an upper bound
                v = buf[d, 16]
                keys[buf[d, 19]] = np.uint32(buf[d, 18] & 0xFFFFFFFF)
                vals[buf[d, 19]] = np.uint8(v + 64)
                state = 2
        else:
            if d == root:
                return v
            d -= 1
            score = -v
            if score >= buf[d, 17]:  # a cut: a lower bound
                keys[buf[d, 19]] = np.uint32(buf[d, 18] & 0xFFFFFFFF)
                vals[buf[d, 19]] = np.uint8(_LOWER | (score + 64))
                v = score
            else:
                if score > buf[d, 16]:
                    buf[d, 16] = score
                state = 1


@njit(cache=True)
def _half(x):
    """x / 2 rounded toward zero."""
    return x // 2 if x >= 0 else -((-x) // 2)


@njit(cache=True)
def _solve_one(pos, mask, keys, vals, ctr, buf):
    """Exact score of one position (finished ones included); UNSOLVED past the node budget."""
    moves = _popcount(mask)
    if _aligned(pos ^ mask):  # the opponent has four: lost
        return -(CELLS // 2 + 1 - _popcount(pos ^ mask))
    if moves >= CELLS:
        return 0
    if _winning_cells(pos, mask) & _playable(mask):
        return (CELLS + 1 - moves) // 2
    lo = -((CELLS - moves) // 2)
    hi = (CELLS + 1 - moves) // 2
    while lo < hi:  # null-window bisection, probing near 0 first
        med = lo + (hi - lo) // 2
        if med <= 0 and _half(lo) < med:
            med = _half(lo)
        elif med >= 0 and _half(hi) > med:
            med = _half(hi)
        r = _negamax(pos, mask, moves, med, med + 1, keys, vals, ctr, buf)
        if ctr[2]:
            return UNSOLVED
        if r <= med:
            hi = r
        else:
            lo = r
    return lo


@njit(cache=True)
def _solve_batch(states, max_nodes, keys, vals, nodes):
    out = np.empty(states.shape[0], np.int32)
    ctr = np.zeros(3, np.int64)
    buf = np.zeros((CELLS + 1, 24), np.int64)
    for i in range(states.shape[0]):
        ctr[0], ctr[1], ctr[2] = 0, max_nodes, 0
        out[i] = _solve_one(states[i, c4.CUR], states[i, c4.ALL], keys, vals, ctr, buf)
        nodes[i] = ctr[0]
    return out


@njit(cache=True)
def _move_scores(pos, mask, max_nodes, keys, vals):
    out = np.full(NUM_ACTIONS, ILLEGAL, np.int32)
    if _aligned(pos ^ mask) or _popcount(mask) >= CELLS:
        return out
    moves = _popcount(mask)
    wins = _winning_cells(pos, mask)
    ctr = np.zeros(3, np.int64)
    buf = np.zeros((CELLS + 1, 24), np.int64)
    for col in range(WIDTH):
        mv = _playable(mask) & (COLUMN << (7 * col))
        if mv == 0:
            continue
        if mv & wins:
            out[col] = (CELLS + 1 - moves) // 2
            continue
        ctr[0], ctr[1], ctr[2] = 0, max_nodes, 0
        s = _solve_one(pos ^ mask, mask | mv, keys, vals, ctr, buf)
        out[col] = UNSOLVED if s == UNSOLVED else -s
    return out


# ---- the public API --------------------------------------------------------------------------

_table: tuple[np.ndarray, np.ndarray] | None = None


def table() -> tuple[np.ndarray, np.ndarray]:
    """The shared transposition table (keys [TABLE_SIZE] uint32, values uint8), made on first use."""
    global _table
    if _table is None:
        keys, vals = np.empty(TABLE_SIZE, np.uint32), np.empty(TABLE_SIZE, np.uint8)
        keys[:], vals[:] = 0, 0  # written now: the memory is committed before any timing
        _table = (keys, vals)
    return _table


def reset_table() -> None:
    """Forget everything the table holds (for timing from a cold table)."""
    if _table is not None:
        _table[1][:] = 0


def release_table() -> None:
    """Free the table's memory; the next solve allocates it again."""
    global _table
    _table = None


def solve(states: np.ndarray, max_nodes: int = 0, nodes: np.ndarray | None = None) -> np.ndarray:
    """[n, S] int64 connect4 states -> [n] int32 exact scores for the player to move (module
    docstring; finished positions too), UNSOLVED where one position's search passes `max_nodes`
    nodes (0: no limit). `nodes`, if given ([n] int64), receives each position's node count."""
    states = np.ascontiguousarray(states, np.int64).reshape(-1, c4.STATE_SIZE)
    if nodes is None:
        nodes = np.zeros(states.shape[0], np.int64)
    keys, vals = table()
    return _solve_batch(states, int(max_nodes), keys, vals, nodes)


def move_scores(state: np.ndarray, max_nodes: int = 0) -> np.ndarray:
    """[S] int64 state -> [A] int32: for each action (column - 1), the score for the player to
    move of playing it; ILLEGAL for a full column (every action once the game is over); UNSOLVED
    where the solve of the position after it passes `max_nodes` nodes (a budget per move)."""
    pos, mask = bitboards(state)
    keys, vals = table()
    return _move_scores(pos, mask, int(max_nodes), keys, vals)


def bitboards(state: np.ndarray) -> tuple[int, int]:
    """(position, mask): the mover's stones and all stones, bit 7*col+row (the state's own layout)."""
    return int(state[c4.CUR]), int(state[c4.ALL])


def from_moves(moves: str) -> np.ndarray:
    """The [S] int64 state after a move string in Pons' notation ("4453": columns 1-7), each move
    checked (games.GameError on a bad or illegal one)."""
    from games import get

    return get(c4.NAME).position(moves)


def from_bitboards(position: int, mask: int) -> np.ndarray:
    """The [S] int64 state of bitboards (position = stones of the player to move, mask = all)."""
    from games.interface import ONGOING

    state = c4.new_states(1)[0]
    state[c4.CUR], state[c4.ALL] = position, mask
    state[c4.PLY] = bin(mask).count("1")
    opponent = np.array([position ^ mask], np.int64)
    lost = bool(_aligned(opponent[0]))
    state[c4.OUTCOME] = -1 if lost else 0 if state[c4.PLY] == CELLS else ONGOING
    return state


# ---- timing on Pons' sets --------------------------------------------------------------------

def bench(path: str, limit: int = 0, every: int = 1, cold: bool = True) -> dict:
    """Solve the positions of one test set (`moves score` lines), one at a time, and check each
    score. limit/every: take every `every`-th line, at most `limit` (0: all). cold: empty the
    table before each position (outside the timing), as Pons' protocol does."""
    import time

    lines = [ln.split() for ln in open(path) if ln.strip()][::every]
    if limit:
        lines = lines[:limit]
    solve(from_moves("2252576253462244111563365343671351441")[None])  # compile / load the cache
    times, counts, wrong = [], [], 0
    nodes = np.zeros(1, np.int64)
    for moves, expected in lines:
        state = from_moves(moves)[None]
        if cold:
            reset_table()
        t = time.perf_counter()
        score = solve(state, nodes=nodes)[0]
        times.append(time.perf_counter() - t)
        counts.append(int(nodes[0]))
        wrong += int(score != int(expected))
    times, counts = np.array(times), np.array(counts)
    return {"file": path, "positions": len(lines), "wrong": wrong, "mean_s": times.mean(),
            "max_s": times.max(), "mean_nodes": counts.mean(), "max_nodes": int(counts.max()),
            "nodes_per_s": counts.sum() / times.sum()}


def _main(argv=None) -> None:
    import argparse
    import os

    ap = argparse.ArgumentParser(prog="python -m games.connect4_solver", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", nargs="+", metavar="FILE", required=True,
                    help="Pons test set(s): `moves score` per line")
    ap.add_argument("--limit", type=int, default=0, help="at most this many positions per file")
    ap.add_argument("--every", type=int, default=1, help="take every k-th line")
    ap.add_argument("--warm", action="store_true", help="keep the table between positions")
    args = ap.parse_args(argv)
    print(f"{'set':<12} {'positions':>9} {'wrong':>5} {'mean time':>10} {'max time':>10} "
          f"{'mean nodes':>11} {'max nodes':>11} {'nodes/s':>10}")
    for path in args.bench:
        r = bench(path, args.limit, args.every, cold=not args.warm)
        print(f"{os.path.basename(path):<12} {r['positions']:>9} {r['wrong']:>5} "
              f"{_fmt_time(r['mean_s']):>10} {_fmt_time(r['max_s']):>10} "
              f"{r['mean_nodes']:>11,.0f} {r['max_nodes']:>11,} {r['nodes_per_s']:>10,.0f}",
              flush=True)


def _fmt_time(s: float) -> str:
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


if __name__ == "__main__":
    _main()
