"""The perfect solvers: Connect Four against Pascal Pons' scored test sets and the per-move
scores of bench_moves.tsv, tic-tac-toe against a plain negamax written here.

Fast run: samples shipped in tests/data. `-m slow`: every line of engine/data/connect4 but
Test_L1_R3's, of which every 20th (all of it, about 4.5 hours on one core, with
ZEROPLAY_SOLVER_ALL=1; see docs/benchmarks.md).
"""
import os
from pathlib import Path

import numpy as np
import pytest

import games
from games import connect4_solver as c4s
from games import tictactoe_solver as ttts
from games.interface import ONGOING

DATA = Path(__file__).parent / "data"
PONS_SETS = ["Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1", "Test_L1_R2", "Test_L1_R3"]
DRAWN_FULL_BOARD = "547125662261271266215743771576315353334444"


def read_scored(path):
    """`moves score` lines (# comments skipped) -> [(moves, score)]."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            moves, score = line.split()
            rows.append((moves, int(score)))
    return rows


def read_move_scores(path):
    """bench_moves.tsv lines -> [(moves, position score, [7] per-move scores, ILLEGAL for x)]."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            moves, _optimal, score, per_move = line.split("\t")
            scores = [c4s.ILLEGAL if s == "x" else int(s) for s in per_move.split(",")]
            rows.append((moves, int(score), scores))
    return rows


def check_scores(rows):
    states = np.stack([c4s.from_moves(m) for m, _ in rows])
    got = c4s.solve(states)
    wrong = [(m, want, int(g)) for (m, want), g in zip(rows, got) if g != want]
    assert not wrong, f"{len(wrong)} of {len(rows)} wrong (moves, expected, got): {wrong[:5]}"


def check_move_scores(rows):
    wrong = []
    for moves, score, per_move in rows:
        state = c4s.from_moves(moves)
        got = c4s.move_scores(state).tolist()
        if got != per_move or max(got) != score:
            wrong.append((moves, per_move, got))
    assert not wrong, f"{len(wrong)} of {len(rows)} wrong (moves, expected, got): {wrong[:3]}"


# ---- Connect Four: reference scores ----------------------------------------------------------

def test_connect4_pons_sample():
    rows = read_scored(DATA / "connect4_pons_sample.txt")
    assert len(rows) >= 100
    check_scores(rows)


def test_connect4_move_scores_sample():
    rows = read_move_scores(DATA / "connect4_bench_moves_sample.tsv")
    assert len(rows) >= 30
    check_move_scores(rows)


@pytest.mark.slow
@pytest.mark.parametrize("name", PONS_SETS)
def test_connect4_pons_set(connect4_data, name):
    """Every line; Test_L1_R3 (about 4.5 hours on one core) every 20th line unless
    ZEROPLAY_SOLVER_ALL=1 asks for all of it."""
    rows = read_scored(connect4_data / name)
    assert len(rows) == 1000
    if name == "Test_L1_R3" and os.environ.get("ZEROPLAY_SOLVER_ALL") != "1":
        rows = rows[::20]
    check_scores(rows)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bench_moves.tsv", "pons_moves.tsv"])
def test_connect4_move_scores_file(connect4_data, name):
    rows = read_move_scores(connect4_data / name)
    assert len(rows) == 1000
    check_move_scores(rows)


# ---- Connect Four: conventions, budget, conversions ------------------------------------------

def test_connect4_finished_positions():
    # the first player makes four in column 1 with its 4th stone: 22 - 4 = 18 for the winner
    assert c4s.solve(c4s.from_moves("1212121")[None]).tolist() == [-18]
    # the second player makes four along the bottom (columns 2-5) with its 4th stone
    assert c4s.solve(c4s.from_moves("12131465")[None]).tolist() == [-18]
    # ... or with its 5th: 22 - 5 = 17
    assert c4s.solve(c4s.from_moves("6213147615")[None]).tolist() == [-17]
    full = c4s.from_moves(DRAWN_FULL_BOARD)
    assert full[3] == 0 and full[2] == 42  # a drawn, full board
    assert c4s.solve(full[None]).tolist() == [0]
    assert (c4s.move_scores(full) == c4s.ILLEGAL).all()
    assert (c4s.move_scores(c4s.from_moves("1212121")) == c4s.ILLEGAL).all()


def test_connect4_immediate_win_and_move_scores_consistent():
    state = c4s.from_moves("121212")  # the first player wins at once in column 1, with stone 4
    assert c4s.solve(state[None]).tolist() == [18]
    scores = c4s.move_scores(state)
    assert scores[0] == 18 and scores.max() == 18
    # every move's score is minus the score of the position it leads to
    game = games.get("connect4")
    for moves in ["274552224131661", "2252576253462244111563365343671351441",
                  "37313333717124171162542"]:
        state = c4s.from_moves(moves)
        scores = c4s.move_scores(state)
        legal = game.legal(state)
        for a in range(7):
            if legal[a]:
                child = game.apply(state, a)
                assert scores[a] == -c4s.solve(child[None])[0]
            else:
                assert scores[a] == c4s.ILLEGAL
        assert scores.max() == c4s.solve(state[None])[0]


def test_connect4_full_column_is_illegal():
    state = c4s.from_moves("444444")
    scores = c4s.move_scores(state, max_nodes=10_000)
    assert scores[3] == c4s.ILLEGAL
    assert (scores[[0, 1, 2, 4, 5, 6]] != c4s.ILLEGAL).all()


def test_connect4_node_budget():
    early = c4s.from_moves("4")  # needs billions of nodes... or at least far more than 1,000
    nodes = np.zeros(1, np.int64)
    assert c4s.solve(early[None], max_nodes=1000, nodes=nodes).tolist() == [c4s.UNSOLVED]
    assert 1000 < nodes[0] <= 1001
    assert (c4s.move_scores(c4s.from_moves(""), max_nodes=1000) == c4s.UNSOLVED).all()
    # a batch: the budget is per position; the easy one is still solved exactly
    easy = c4s.from_moves("2252576253462244111563365343671351441")
    got = c4s.solve(np.stack([early, easy]), max_nodes=1000)
    assert got.tolist() == [c4s.UNSOLVED, -1]
    # an aborted search leaves nothing false behind in the shared table
    mid = c4s.from_moves("274552224131661")
    assert c4s.solve(mid[None], max_nodes=500).tolist() == [c4s.UNSOLVED]
    assert c4s.solve(mid[None]).tolist() == [0]


def test_connect4_cold_and_warm_table_agree():
    rows = read_scored(DATA / "connect4_pons_sample.txt")[::7]
    states = np.stack([c4s.from_moves(m) for m, _ in rows])
    warm = c4s.solve(states)
    c4s.reset_table()
    cold = np.array([c4s.solve(s[None])[0] for s in states])
    assert warm.tolist() == cold.tolist() == [s for _, s in rows]


def test_connect4_conversions():
    state = c4s.from_moves("4453")
    pos, mask = c4s.bitboards(state)
    assert bin(mask).count("1") == 4
    bit = lambda col, row: 1 << (7 * (col - 1) + row)  # noqa: E731
    assert mask == bit(4, 0) | bit(4, 1) | bit(5, 0) | bit(3, 0)
    assert pos == bit(4, 0) | bit(5, 0)  # the first player's stones: it is to move
    assert c4s.from_bitboards(pos, mask).tolist() == state.tolist()
    won = c4s.from_moves("1212121")
    assert c4s.from_bitboards(*c4s.bitboards(won)).tolist() == won.tolist()
    with pytest.raises(games.GameError):
        c4s.from_moves("1111111")  # column 1 is full at the 7th move


# ---- tic-tac-toe --------------------------------------------------------------------------------

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def board_of(state):
    """A 9-character board: X moved first, O second, . empty (from the state's two bitboards)."""
    mine, theirs, ply = int(state[0]), int(state[1]), int(state[2])
    x, o = (mine, theirs) if ply % 2 == 0 else (theirs, mine)
    return "".join("X" if x >> i & 1 else "O" if o >> i & 1 else "." for i in range(9))


def winner(board):
    for a, b, c in LINES:
        if board[a] != "." and board[a] == board[b] == board[c]:
            return board[a]
    return None


def reference_value(board, memo={}):  # noqa: B006 - the memo is the point
    """Plain negamax over a text board: (result for the player to move: +1/0/-1, the number of
    stones the winner holds at the end under best play; 0 for a draw). The winner wants that
    number small, the loser large."""
    if board in memo:
        return memo[board]
    to_move = "X" if board.count("X") == board.count("O") else "O"
    w = winner(board)
    if w is not None:
        result = (-1, board.count(w))
    elif "." not in board:
        result = (0, 0)
    else:
        best = None
        for i, cell in enumerate(board):
            if cell == ".":
                r, stones = reference_value(board[:i] + to_move + board[i + 1:])
                mine = (-r, stones)
                # prefer a win, then a draw; among wins the fewest stones, among losses the most
                key = (mine[0], -stones if mine[0] > 0 else stones)
                if best is None or key > best[0]:
                    best = (key, mine)
        result = best[1]
    memo[board] = result
    return result


def reference_score(board):
    r, stones = reference_value(board)
    return 0 if r == 0 else r * (6 - stones)


def test_tictactoe_position_counts():
    states = ttts.reachable_states()
    assert len(states) == 5478
    assert (states[:, 3] == ONGOING).sum() == 4520
    assert len({(int(a), int(b)) for a, b, *_ in states}) == 5478
    # the states agree with the game's own kernels: outcomes computed by playing the same moves
    game = games.get("tictactoe")
    assert game.outcomes(states).tolist() == states[:, 3].tolist()


def test_tictactoe_against_plain_negamax():
    states = ttts.reachable_states()
    got = ttts.solve(states)
    want = [reference_score(board_of(s)) for s in states]
    assert got.tolist() == want
    assert got[0] == 0  # tic-tac-toe is a draw
    assert sorted(set(want)) == [-3, -2, -1, 0, 1, 2, 3]


def test_tictactoe_move_scores():
    game = games.get("tictactoe")
    assert ttts.move_scores(game.initial()).tolist() == [0] * 9  # every first move draws
    state = game.position("12")  # X in a corner, O beside it on an edge: X wins
    scores = ttts.move_scores(state)
    assert scores[0] == scores[1] == ttts.ILLEGAL
    assert scores.max() == ttts.solve(state[None])[0] > 0
    for state in ttts.reachable_states()[::37]:
        scores = ttts.move_scores(state)
        legal = game.legal(state)
        for a in range(9):
            if legal[a]:
                assert scores[a] == -ttts.solve(game.apply(state, a)[None])[0]
            else:
                assert scores[a] == ttts.ILLEGAL
        if legal.any():
            assert scores.max() == ttts.solve(state[None])[0]


def test_tictactoe_finished_positions():
    game = games.get("tictactoe")
    won = game.position("14253")  # X takes the top row with its 3rd stone
    assert game.outcome(won) == -1
    assert ttts.solve(won[None]).tolist() == [-3]
    drawn = game.position("123546879")
    assert game.outcome(drawn) == 0
    assert ttts.solve(drawn[None]).tolist() == [0]
    assert (ttts.move_scores(won) == ttts.ILLEGAL).all()


# ---- registry ---------------------------------------------------------------------------------

def test_solver_registry(monkeypatch):
    assert games.solver("connect4") is c4s
    assert games.solver("tictactoe") is ttts
    with pytest.raises(games.GameError):
        games.solver("chess")
    monkeypatch.setitem(games._REGISTRY, "nosolver", games.get("tictactoe"))
    assert games.solver("nosolver") is None
