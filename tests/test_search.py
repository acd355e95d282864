"""Behaviour of the search: wins found, losses blocked, perfect tic-tac-toe, exact visit counts,
legal moves only, seeds, solver proofs, tree reuse, and a slow readable PUCT reference.

Every check is against the rules or an independent program written here (a tic-tac-toe
negamax, a plain-Python PUCT), never against the search's own internals alone.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from games import ONGOING
from mcts import (RolloutEvaluator, SearchConfig, Searcher, UniformEvaluator, UNKNOWN,
                  uniform_priors)
from mcts.policies import respect_proofs

C4, TTT = games.get("connect4"), games.get("tictactoe")

# Connect Four positions built by hand (columns 1-7 from the empty board).
WIN_IN_ONE = [  # the player to move wins at column 4 or 1, and only there (checked below)
    "121212",  # X: vertical in column 1
    "112233",  # X: horizontal on the bottom row, at 4
    "7162736",  # O: horizontal on the bottom row, at 4
    "1223433474",  # X: diagonal (1,1) (2,2) (3,3) -> (4,4)
    "71223433474",  # O: the same diagonal
    "17665455414",  # O: its mirror image (the other diagonal)
]
MUST_BLOCK = [  # no win for the mover; the opponent threatens one square: every other move loses
    "15263",  # X threatens the bottom row at 4
    "12131",  # X threatens column 1
    "12234334741",  # X threatens a diagonal at column 4
    "76654554147",  # X threatens the other diagonal at column 4
]
LOST = "27364"  # O to move; X threatens both ends of the bottom row (columns 1 and 5)


def rollout_search(game, positions, seed=0, evaluator=None, noise=False, **config):
    """Pure MCTS (uniform priors, one random rollout per leaf) over `positions` as one batch."""
    cfg = SearchConfig(**{"c_init": 3.0, "dirichlet_fraction": 0.0, **config})
    searcher = Searcher(game, evaluator or RolloutEvaluator(game, 1, seed), cfg,
                        len(positions), seed=seed)
    searcher.set_roots(np.stack([game.position(p) for p in positions]))
    return searcher, searcher.run(add_noise=noise)


def winning_moves(game, state) -> set[int]:
    """Actions after which the player who played them has won, by the rules."""
    return {int(a) for a in np.flatnonzero(game.legal(state))
            if game.outcome(game.apply(state, int(a))) == -1}


def safe_moves(game, state) -> set[int]:
    """Actions after which the opponent has no immediate win."""
    return {int(a) for a in np.flatnonzero(game.legal(state))
            if not winning_moves(game, game.apply(state, int(a)))}


def test_hand_built_positions_are_what_they_claim():
    for p in WIN_IN_ONE:
        assert len(winning_moves(C4, C4.position(p))) == 1, p
    for p in MUST_BLOCK:
        state = C4.position(p)
        assert not winning_moves(C4, state) and len(safe_moves(C4, state)) == 1, p
    assert not safe_moves(C4, C4.position(LOST))


# ---- tactics: wins and blocks --------------------------------------------------------------------

@pytest.mark.parametrize("leaves", [1, 8])
@pytest.mark.parametrize("solver", [True, False])
@pytest.mark.parametrize("method", ["puct", "gumbel"])
def test_takes_an_immediate_win(method, solver, leaves):
    for seed in range(2):
        _, result = rollout_search(C4, WIN_IN_ONE, seed, simulations=400, method=method,
                                   solver=solver, leaves_per_tree=leaves)
        for p, action in zip(WIN_IN_ONE, result.action):
            assert action in winning_moves(C4, C4.position(p)), (p, seed, action)
        if solver:
            assert (result.proven == 1).all()


@pytest.mark.parametrize("leaves", [1, 8])
@pytest.mark.parametrize("solver", [True, False])
def test_blocks_an_immediate_loss(solver, leaves):
    for seed in range(2):
        _, result = rollout_search(C4, MUST_BLOCK, seed, simulations=400, solver=solver,
                                   leaves_per_tree=leaves)
        for p, action in zip(MUST_BLOCK, result.action):
            assert action in safe_moves(C4, C4.position(p)), (p, seed, action)


@pytest.mark.parametrize("solver", [True, False])
@pytest.mark.parametrize("rollouts", [False, True])
def test_gumbel_finds_a_win_with_16_simulations(rollouts, solver):
    for seed in range(5):
        evaluator = RolloutEvaluator(C4, 1, seed) if rollouts else UniformEvaluator()
        _, result = rollout_search(C4, WIN_IN_ONE, seed, evaluator, noise=True, simulations=16,
                                   method="gumbel", solver=solver)
        for p, action in zip(WIN_IN_ONE, result.action):
            assert action in winning_moves(C4, C4.position(p)), (p, seed, action)


def test_solver_proves_a_forced_win_and_a_forced_loss():
    # (Gumbel's proven wins are checked above; its deterministic interior selection can keep
    # a rollout-valued subtree on one reply for good, so a loss proof is not guaranteed there)
    _, result = rollout_search(C4, ["121212", LOST], simulations=300)
    assert result.proven.tolist() == [1, -1]
    _, result = rollout_search(C4, ["121212", LOST], simulations=300, solver=False)
    assert (result.proven == UNKNOWN).all()


@pytest.mark.parametrize("method", ["puct", "gumbel"])
def test_the_policy_target_agrees_with_the_solvers_proofs(method):
    """With the solver, the policy (self-play's training target) is the winning move alone
    where one is proven, and nothing on a move proven to lose; without it, the visit shares
    (or Gumbel's improved policy) still spread over other moves."""
    positions = WIN_IN_ONE + MUST_BLOCK
    wins = [sorted(winning_moves(C4, C4.position(p))) for p in WIN_IN_ONE]
    for solver in (True, False):
        searcher, result = rollout_search(C4, positions, simulations=200, method=method,
                                          solver=solver)
        np.testing.assert_allclose(result.policy.sum(axis=1), 1.0, rtol=1e-5)
        on_win = [result.policy[i, w].sum() for i, w in enumerate(wins)]
        proven_losses = searcher.tree.edge_proven[:, 0] == -1
        if solver:
            np.testing.assert_allclose(on_win, 1.0, rtol=1e-5)
            assert proven_losses[len(wins):].sum() >= len(MUST_BLOCK)
            assert (result.policy[proven_losses] == 0).all()
        else:
            assert max(on_win) < 1.0


def test_respect_proofs_keeps_visits_where_every_visited_move_loses():
    loss, unknown = -1, UNKNOWN
    policy = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.2, 0.3, 0.5]], np.float32)
    proven = np.array([[loss, loss, unknown], [loss, 0, unknown], [1, loss, 1]], np.int8)
    np.testing.assert_allclose(respect_proofs(policy, proven),
                               [[0.5, 0.5, 0.0], [0.0, 0.375, 0.625], [2 / 7, 0.0, 5 / 7]],
                               rtol=1e-6)


def test_a_finished_root_gets_no_visits_and_its_exact_value():
    _, result = rollout_search(C4, ["1212121", ""], simulations=10)  # X has won: O to move
    assert result.visits[0].sum() == 0 and result.proven[0] == -1 and result.value[0] == -1
    assert result.visits[1].sum() == 10


# ---- tic-tac-toe: perfect play -------------------------------------------------------------------

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def _after(board: tuple, cell: int) -> tuple[tuple, int | None]:
    """(board after the mover takes cell, its exact value for that mover if the game ended)."""
    me = 1 + board.count(1) - board.count(2)  # 1 = X (moves first), 2 = O
    after = board[:cell] + (me,) + board[cell + 1:]
    if any(all(after[i] == me for i in line) for line in LINES):
        return after, 1
    return after, (0 if 0 not in after else None)


@functools.lru_cache(maxsize=None)
def negamax(board: tuple) -> int:
    """Exact value of a tic-tac-toe board (9 cells: 0 empty, 1 X, 2 O) for the player to move."""
    return max(move_value(board, cell) for cell in range(9) if board[cell] == 0)


def move_value(board: tuple, cell: int) -> int:
    after, done = _after(board, cell)
    return done if done is not None else -negamax(after)


def board_of(moves: tuple[int, ...]) -> tuple:
    board = [0] * 9
    for i, cell in enumerate(moves):
        board[cell] = 1 + i % 2
    return tuple(board)


def optimal_moves(moves: tuple[int, ...]) -> list[int]:
    board = board_of(moves)
    best = negamax(board)
    return [c for c in range(9) if board[c] == 0 and move_value(board, c) == best]


@pytest.mark.parametrize("mcts_first", [True, False], ids=["mcts-x", "mcts-o"])
@pytest.mark.parametrize("solver", [True, False], ids=["solver", "no-solver"])
def test_pure_mcts_never_loses_at_tictactoe(mcts_first, solver):
    """Every game against a perfect player that tries all its optimal moves at every turn."""
    cfg = SearchConfig(simulations=1500, c_init=3.0, dirichlet_fraction=0.0, solver=solver)
    frontier, games_played, mcts_positions = {()}, 0, 0
    for ply in range(10):
        live = []
        for moves in sorted(frontier):
            state = TTT.position(TTT.format_moves(moves))
            if TTT.outcome(state) == ONGOING:
                live.append((moves, state))
                continue
            games_played += 1
            last_mover_was_mcts = (len(moves) % 2 == 1) == mcts_first
            assert TTT.outcome(state) == 0 or last_mover_was_mcts, f"MCTS lost: {moves}"
        if not live:
            break
        frontier = set()
        if (ply % 2 == 0) == mcts_first:
            searcher = Searcher(TTT, RolloutEvaluator(TTT, 1, ply), cfg, len(live), seed=ply)
            searcher.set_roots(np.stack([s for _, s in live]))
            mcts_positions += len(live)
            frontier = {m + (int(a),) for (m, _), a in zip(live, searcher.run().action)}
        else:
            frontier = {m + (c,) for m, _ in live for c in optimal_moves(m)}
    assert games_played >= (1 if mcts_first else 9) and mcts_positions >= 4


def test_solver_values_are_exact_on_every_tictactoe_position():
    """Whenever the solver claims a value it is the negamax value; late positions all get one."""
    positions = {}  # board -> moves, every reachable unfinished position with 5+ moves played

    def walk(moves):
        board = board_of(moves)
        if board in positions:
            return
        if len(moves) >= 5:
            positions[board] = moves
        for cell in range(9):
            if board[cell] == 0 and _after(board, cell)[1] is None:
                walk(moves + (cell,))
    walk(())
    boards = list(positions)
    proven_values = np.concatenate([  # in chunks, to keep the trees' memory small
        rollout_search(TTT, [TTT.format_moves(positions[b]) for b in boards[i:i + 512]],
                       simulations=200)[1].proven for i in range(0, len(boards), 512)])
    for board, proven in zip(boards, proven_values):
        assert proven == UNKNOWN or proven == negamax(board), positions[board]
        if board.count(0) <= 3:
            assert proven == negamax(board), positions[board]
    assert (proven_values != UNKNOWN).mean() > 0.9


# ---- exact visit counts, tree consistency, reuse ------------------------------------------------

def check_tree(t, b, solver):
    """Statistics agree along every edge of tree b, and no virtual visit or loss is left over."""
    for node in range(t.node_count[b]):
        kids = t.children[b, node]
        assert (t.edge_visits[b, node][kids < 0] == 0).all()
        for a in np.flatnonzero(kids >= 0):
            child = kids[a]
            assert t.parent[b, child] == node and t.action[b, child] == a
            assert t.edge_visits[b, node, a] == t.visits[b, child]
            assert t.edge_value[b, node, a] == t.value_sum[b, child]
            assert t.edge_proven[b, node, a] == t.proven[b, child]
        if t.terminal[b, node]:  # each visit scored the exact result
            assert t.value_sum[b, node] == t.visits[b, node] * t.proven[b, node]
        elif not solver or t.proven[b, node] == UNKNOWN:
            # one visit for the expansion (its value), one per visit of a child
            assert t.expanded[b, node]
            assert t.visits[b, node] == 1 + t.edge_visits[b, node].sum()
            assert t.value_sum[b, node] == pytest.approx(
                -t.raw_value[b, node] - t.edge_value[b, node].sum(), abs=1e-3)
        else:  # a proven node (below the root) stops the walks that reach it
            assert t.visits[b, node] >= 1 + t.edge_visits[b, node].sum()


POSITIONS = ["", "4453", "121212", "27364", "1223433474"]


@pytest.mark.parametrize("solver", [True, False])
@pytest.mark.parametrize("leaves", [1, 8])
@pytest.mark.parametrize("method", ["puct", "gumbel"])
def test_visits_add_up_to_the_simulations(method, leaves, solver):
    searcher, result = rollout_search(C4, POSITIONS, simulations=97, method=method,
                                      leaves_per_tree=leaves, solver=solver)
    assert result.visits.sum(axis=1).tolist() == [97] * len(POSITIONS)
    assert searcher.tree.visits[:, 0].tolist() == [98] * len(POSITIONS)  # + the expansion
    for b in range(len(POSITIONS)):
        check_tree(searcher.tree, b, solver)


def test_a_search_of_fewer_simulations_runs_for_one_call_and_changes_no_setting():
    searcher, full = rollout_search(C4, POSITIONS, simulations=97, reuse_tree=False)
    config = searcher.config
    searcher.set_roots(np.stack([C4.position(p) for p in POSITIONS]))
    fast = searcher.run(simulations=5)  # a playout cap's fast move
    assert fast.visits.sum(axis=1).tolist() == [5] * len(POSITIONS)
    raw = searcher.run(simulations=0)  # the evaluator's own choice: the priors
    assert np.array_equal(raw.policy, searcher.tree.prior[:, 0])
    assert searcher.config is config
    with pytest.raises(ValueError, match="97 simulations cannot run 98"):
        searcher.run(simulations=98)  # the trees are sized for 97


def advance_and_check(searcher, positions, first, actions):
    """Advance every tree by actions; check what each kept; run again; check the counts."""
    t, sims = searcher.tree, searcher.config.simulations
    children = t.children[np.arange(len(positions)), 0, actions]
    kept = [(t.visits[b, c], t.edge_visits[b, c].copy()) if c >= 0 else None
            for b, c in enumerate(children)]
    next_states = np.stack([C4.apply(C4.position(p), int(a)) for p, a in zip(positions, actions)])
    searcher.advance(actions, next_states)
    assert (t.states[:, 0] == next_states).all() and (t.parent[:, 0] == -1).all()
    for b, k in enumerate(kept):
        if k is None:  # an unexpanded child: a fresh tree
            assert t.node_count[b] == 1 and not t.expanded[b, 0] and t.visits[b, 0] == 0
        else:
            assert t.visits[b, 0] == k[0] == first.visits[b, actions[b]]
            assert (t.edge_visits[b, 0] == k[1]).all()
            check_tree(t, b, searcher.config.solver)
    second = searcher.run()
    for b, k in enumerate(kept):
        assert second.visits[b].sum() == (0 if k is None else k[1].sum()) + sims
        assert C4.legal(next_states[b])[second.action[b]]
        check_tree(t, b, searcher.config.solver)


@pytest.mark.parametrize("leaves", [1, 8])
@pytest.mark.parametrize("method", ["puct", "gumbel"])
def test_tree_reuse_keeps_the_subtree_and_adds_the_simulations(method, leaves):
    positions = ["4453", "", LOST]
    searcher, first = rollout_search(C4, positions, simulations=200, method=method,
                                     leaves_per_tree=leaves)
    advance_and_check(searcher, positions, first, first.visits.argmax(axis=1))


def test_advance_into_an_unexpanded_child_restarts_that_tree():
    positions = ["4453", "121212"]  # in the second, the proven win at column 1 takes every visit
    searcher, first = rollout_search(C4, positions, simulations=200)
    assert first.visits[1, 6] == 0 and searcher.tree.children[1, 0, 6] == -1
    advance_and_check(searcher, positions, first, np.array([first.visits[0].argmax(), 6]))


def test_advance_without_reuse_restarts():
    searcher, first = rollout_search(C4, ["4453"], simulations=100, reuse_tree=False)
    action = int(first.action[0])
    searcher.advance(np.array([action]), C4.apply(C4.position("4453"), action)[None])
    assert searcher.tree.node_count[0] == 1 and searcher.tree.visits[0, 0] == 0
    assert searcher.run().visits.sum() == 100


# ---- legal moves only, seeds ---------------------------------------------------------------------

class ScrambledEvaluator:
    """Seeded random priors over all actions, illegal ones included, and random values."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def __call__(self, states, masks):
        priors = self.rng.random(masks.shape).astype(np.float32)
        return priors, self.rng.uniform(-1, 1, len(states)).astype(np.float32)


@st.composite
def unfinished_positions(draw):
    """(game, [1-3] unfinished states reached by legal random moves)."""
    game = draw(st.sampled_from([TTT, C4]))
    states = []
    for _ in range(draw(st.integers(1, 3))):
        state = game.initial()
        for pick in draw(st.lists(st.integers(0, 1 << 16), max_size=game.max_moves - 1)):
            legal = np.flatnonzero(game.legal(state))
            nxt = game.apply(state, int(legal[pick % legal.size]))
            if game.outcome(nxt) != ONGOING:
                break
            state = nxt
        states.append(state)
    return game, np.stack(states)


@settings(deadline=None, max_examples=60)
@given(position=unfinished_positions(), method=st.sampled_from(["puct", "gumbel"]),
       simulations=st.sampled_from([0, 1, 8, 32]), noise=st.booleans(),
       leaves=st.sampled_from([1, 4]), seed=st.integers(0, 2**16))
def test_never_chooses_an_illegal_action(position, method, simulations, noise, leaves, seed):
    game, states = position
    evaluator = ScrambledEvaluator(seed)
    cfg = SearchConfig(simulations=simulations, method=method, leaves_per_tree=leaves)
    searcher = Searcher(game, evaluator, cfg, len(states), seed=seed)
    searcher.set_roots(states)
    result = searcher.run(add_noise=noise)
    legal = game.legal_masks(states)
    assert legal[np.arange(len(states)), result.action].all()
    assert (result.visits[~legal] == 0).all() and (result.policy[~legal] == 0).all()
    assert np.allclose(result.policy.sum(axis=1), 1, atol=1e-4)
    assert (result.visits.sum(axis=1) == simulations).all()
    if simulations == 0 and not (noise and method == "puct"):  # the raw prior's argmax
        raw, _ = ScrambledEvaluator(seed)(states, legal)
        assert (result.action == np.where(legal, raw, -1).argmax(axis=1)).all()


@pytest.mark.parametrize("method", ["puct", "gumbel"])
def test_the_same_seed_gives_the_same_search(method):
    def search(seed):
        cfg = SearchConfig(simulations=150, method=method, c_init=3.0, leaves_per_tree=4)
        searcher = Searcher(C4, RolloutEvaluator(C4, 1, seed), cfg, len(POSITIONS), seed=seed)
        searcher.set_roots(np.stack([C4.position(p) for p in POSITIONS]))
        return searcher.run(add_noise=True)
    a, b, other = search(7), search(7), search(8)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert not np.array_equal(a.visits, other.visits)


def test_gumbel_search_without_noise_plays_its_best_whatever_the_seed():
    def search(seed, noise):
        cfg = SearchConfig(simulations=24, method="gumbel", gumbel_considered=4)
        searcher = Searcher(C4, ScrambledEvaluator(0), cfg, len(POSITIONS), seed=seed)
        searcher.set_roots(np.stack([C4.position(p) for p in POSITIONS]))
        return searcher.run(add_noise=noise)
    quiet = [search(seed, False) for seed in range(4)]
    for other in quiet[1:]:
        assert np.array_equal(quiet[0].visits, other.visits)
        assert np.array_equal(quiet[0].action, other.action)
    noisy = [search(seed, True).visits for seed in range(4)]
    assert any(not np.array_equal(noisy[0], v) for v in noisy[1:])


class FromPython:
    """An evaluator that the search must call from Python at every step, doing another's work."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, states, masks):
        return self.inner(states, masks)


@pytest.mark.parametrize("method", ["puct", "gumbel"])
@pytest.mark.parametrize("rollouts", [0, 1, 3])
def test_the_compiled_search_loop_matches_the_python_loop(method, rollouts):
    """Pure MCTS runs its loop in one compiled call; it must search as the Python loop does
    (finished leaves draw no random numbers, so both use the generator alike)."""
    def search(evaluator):
        cfg = SearchConfig(simulations=120, method=method, leaves_per_tree=2)
        searcher = Searcher(C4, evaluator, cfg, len(POSITIONS), seed=3)
        searcher.set_roots(np.stack([C4.position(p) for p in POSITIONS]))
        return searcher.run(add_noise=True)
    compiled = search(RolloutEvaluator(C4, rollouts, seed=5))
    python = search(FromPython(RolloutEvaluator(C4, rollouts, seed=5)))
    for x, y in zip(compiled, python):
        assert np.array_equal(x, y)


# ---- a slow, readable PUCT reference -------------------------------------------------------------

def engine_uniform_prior(k: int) -> float:
    """The search's float32 uniform prior over k moves (normalised again in float64, stored as
    float32), so that near-ties between scores break the same way in both searches."""
    p = np.float32(1) / np.float32(k)
    return float(np.float32(float(p) / sum([float(p)] * k)))


class RefNode:
    def __init__(self, game, state):
        self.state, self.n, self.w, self.children = state, 0, 0.0, {}  # w: for the mover *into*
        self.outcome = game.outcome(state)
        self.legal = ([int(a) for a in np.flatnonzero(game.legal(state))]
                      if self.outcome == ONGOING else [])
        self.prior = engine_uniform_prior(len(self.legal)) if self.legal else 0.0


def reference_puct(game, state, simulations, value, c_init=1.25, c_base=19652.0,
                   fpu_reduction=0.0):
    """Root visit counts of AlphaZero's PUCT with uniform priors, no noise, no solver.

    value(state) is the evaluator's value for the player to move. The root's expansion counts
    as its first visit; an unvisited child's Q is its parent's value minus fpu_reduction.
    """
    root = RefNode(game, state)
    root.n, root.w = 1, -value(state)
    for _ in range(simulations):
        node, path = root, [root]
        while node.outcome == ONGOING and node.n > 0:  # down to a new leaf or a finished game
            c = c_init + math.log((node.n + c_base + 1.0) / c_base)
            explore, fpu = c * math.sqrt(node.n), -node.w / node.n - fpu_reduction
            best, best_score = -1, -math.inf
            for a in node.legal:  # in order, and only a strictly better score replaces: ties
                child = node.children.get(a)  # go to the lowest action
                n = child.n if child else 0
                score = (child.w / n if n else fpu) + explore * node.prior / (1 + n)
                if score > best_score:
                    best, best_score = a, score
            if best not in node.children:
                node.children[best] = RefNode(game, game.apply(node.state, best))
            node = node.children[best]
            path.append(node)
        v = node.outcome if node.outcome != ONGOING else value(node.state)  # leaf mover's view
        for node in reversed(path):
            v = -v
            node.n, node.w = node.n + 1, node.w + v
    return [root.children[a].n if a in root.children else 0 for a in range(game.num_actions)]


def dyadic_value(state) -> float:
    """A made-up but fixed value in [-1, 1], a multiple of 1/8 (exact in float32 sums)."""
    return ((int(state[0]) + 3 * int(state[1]) + 5 * int(state[2])) % 17 - 8) / 8


class DyadicEvaluator:
    def __call__(self, states, masks):
        return uniform_priors(masks), np.array([dyadic_value(s) for s in states], np.float32)


def our_visits(game, position, evaluator, simulations, **config):
    cfg = SearchConfig(simulations=simulations, dirichlet_fraction=0.0, solver=False, **config)
    searcher = Searcher(game, evaluator, cfg, 1)
    searcher.set_roots(game.position(position)[None])
    return searcher.run().visits[0].tolist()


REFERENCE_CASES = [("tictactoe", ""), ("tictactoe", "5"), ("tictactoe", "159"),
                   ("tictactoe", "12"), ("connect4", ""), ("connect4", "4453"),
                   ("connect4", "121212"), ("connect4", "1122")]


@pytest.mark.parametrize("c_init", [0.25, 1.25, 3.0])
@pytest.mark.parametrize("name,position", REFERENCE_CASES)
def test_puct_matches_a_plain_python_reference(name, position, c_init):
    game = games.get(name)
    ours = our_visits(game, position, UniformEvaluator(), 50, c_init=c_init)
    assert ours == reference_puct(game, game.position(position), 50, lambda s: 0.0, c_init)


@pytest.mark.parametrize("fpu_reduction", [0.0, 0.25])
@pytest.mark.parametrize("name,position", [("tictactoe", "5"), ("connect4", ""),
                                           ("connect4", "4453")])
def test_puct_matches_the_reference_with_values(name, position, fpu_reduction):
    game = games.get(name)
    ours = our_visits(game, position, DyadicEvaluator(), 100, fpu_reduction=fpu_reduction)
    assert ours == reference_puct(game, game.position(position), 100, dyadic_value,
                                  fpu_reduction=fpu_reduction)


@pytest.mark.parametrize("name,position,simulations,c_init,fpu_reduction", [
    ("tictactoe", "", 200, 0.25, 0.3), ("connect4", "", 200, 0.25, 0.3),
    ("tictactoe", "1597", 50, 3.0, 0.0)])
def test_puct_matches_the_reference_where_first_play_value_matters(
        name, position, simulations, c_init, fpu_reduction):
    game = games.get(name)
    ours = our_visits(game, position, UniformEvaluator(), simulations, c_init=c_init,
                      fpu_reduction=fpu_reduction)
    assert ours == reference_puct(game, game.position(position), simulations, lambda s: 0.0,
                                  c_init, fpu_reduction=fpu_reduction)


@pytest.mark.parametrize("name,position", [("tictactoe", "5"), ("connect4", ""),
                                           ("connect4", "4453")])
def test_virtual_loss_changes_nothing_with_one_leaf_per_tree(name, position):
    """With one walk in flight per tree there is no other walk for virtual loss to divert."""
    game = games.get(name)
    assert (our_visits(game, position, DyadicEvaluator(), 100, virtual_loss=0.0)
            == our_visits(game, position, DyadicEvaluator(), 100, virtual_loss=1.0))
