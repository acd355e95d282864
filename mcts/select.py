"""Selection: walk a tree from its root to a leaf (PUCT or Gumbel), with virtual loss.

A step selects up to `leaves_per_tree` leaves in each of the B trees. New leaves are allocated
at once (their state is filled in by the caller from the parent's state and the action), so two
walks in one step never create the same node twice. Each walk records its path, so that its
backup touches only the records on it.
"""
from typing import NamedTuple

import numpy as np

from mcts.cache import njit
from mcts.memory import prefetch
from mcts.tree import NEW, TERMINAL, UNKNOWN

PUCT, GUMBEL = 0, 1
NEW_LEAF, KNOWN, COLLISION = 0, 1, 2  # kinds of walk: a new leaf to evaluate / a leaf whose
# exact value is known / a walk that hit a leaf still waiting for its evaluation


class Walks(NamedTuple):
    """The walks of one step, in the order they were made (tree by tree), for W walks of at most
    D nodes. New leaf i (the i-th walk of kind NEW_LEAF) is played and evaluated by the caller."""

    count: np.ndarray  # [2] int64, walks made, new leaves among them
    tree: np.ndarray  # [W] int32
    kind: np.ndarray  # [W] int8, NEW_LEAF / KNOWN / COLLISION
    depth: np.ndarray  # [W] int32, depth of the leaf (the root is at depth 0)
    path: np.ndarray  # [W, D] int32, path[w, d]: node at depth d (path[w, 0] = 0, the root)
    path_action: np.ndarray  # [W, D] int32, path_action[w, d]: action from depth d-1 to d
    leaf_states: np.ndarray  # [W, S] int64, new leaf i: its parent's state (the caller plays it)
    leaf_actions: np.ndarray  # [W] int64, new leaf i: the action that leads to it
    scratch: np.ndarray  # [A] float32, the walks' work space (Gumbel's per-action scores)


def new_walks(walks: int, depth: int, state_size: int, num_actions: int) -> Walks:
    return Walks(count=np.zeros(2, np.int64), tree=np.zeros(walks, np.int32),
                 kind=np.zeros(walks, np.int8), depth=np.zeros(walks, np.int32),
                 path=np.zeros((walks, depth), np.int32),
                 path_action=np.zeros((walks, depth), np.int32),
                 leaf_states=np.zeros((walks, state_size), np.int64),
                 leaf_actions=np.zeros(walks, np.int64),
                 scratch=np.zeros(num_actions, np.float32))


@njit(cache=True, inline="always")
def _edge_q(e, solver):
    """Mean value of edge e, for the mover at its parent (NaN if unvisited)."""
    if solver and e.proven != UNKNOWN:
        return np.float32(e.proven)
    n = e.visits
    return e.value / n if n > 0 else np.nan


@njit(cache=True, inline="always")
def _proven_win(edges, b, node):
    """An action of the mover at node that is proven to win, or -1."""
    for a in range(edges.shape[2]):
        if edges[b, node, a].proven == 1:
            return a
    return -1


@njit(cache=True, inline="always")
def _log1p(x):
    """log(1 + x), by its series while x < 0.03 (error < x**6 / 6 < 2e-10): libm's log was 5% of
    the search's time, and AlphaZero's c(N) = c_init + log((N + c_base + 1) / c_base) mostly has
    N << c_base."""
    if x < 0.03:
        return x * (1.0 - x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * 0.2))))
    return np.log1p(x)


@njit(cache=True, inline="always")
def puct_child(edges, b, node, n_parent, value_sum, c_init, c_base, fpu_reduction, solver):
    """AlphaZero's PUCT choice at node (n_parent visits, value_sum): Q + c(N) * P * sqrt(N) / (1 + n).

    Unvisited children get the parent's value minus fpu_reduction (first-play urgency). With the
    solver, a proven win is taken at once and proven losses only when nothing else is left.
    """
    explore = (c_init + _log1p((n_parent + 1.0) / c_base)) * np.sqrt(max(n_parent, 1))
    parent_q = -value_sum / n_parent if n_parent > 0 else 0.0
    fpu = parent_q - fpu_reduction
    best_score, best, lost_score, lost = -np.inf, -1, -np.inf, -1
    for a in range(edges.shape[2]):
        e = edges[b, node, a]
        if not e.legal:
            continue
        if solver and e.proven == 1:
            return a
        n = e.visits
        if solver and e.proven == -1:
            # a proven loss: ranked by its searched value, for when every move loses
            score = e.value / max(n, 1) + explore * e.prior / (1.0 + n)
            if score > lost_score:
                lost_score, lost = score, a
            continue
        q = _edge_q(e, solver)
        if np.isnan(q):
            q = fpu
        score = q + explore * e.prior / (1.0 + n)
        if score > best_score:
            best_score, best = score, a
    return best if best >= 0 else lost


@njit(cache=True, inline="always")
def sigma_q(edges, raw_value, b, node, c_visit, c_scale, solver, out):
    """Fill out[A] with Gumbel search's sigma(completed Q) at node (Danihelka et al. 2022).

    Unvisited actions get v_mix, the value estimate mixed with the visited children's Q; Q is
    rescaled to [0, 1] over the legal actions, then scaled by (c_visit + max visits) * c_scale.
    """
    num_actions = edges.shape[2]
    total, max_n, p_visited, pq_sum = 0, 0, 0.0, 0.0
    for a in range(num_actions):
        e = edges[b, node, a]
        out[a] = np.nan
        if e.legal:
            q = _edge_q(e, solver)
            if not np.isnan(q):
                n = e.visits
                out[a] = q
                total += n
                max_n = max(max_n, n)
                p_visited += e.prior
                pq_sum += e.prior * q
    v_mix = raw_value[b, node]
    if total > 0 and p_visited > 0:
        v_mix = (v_mix + total * pq_sum / p_visited) / (1.0 + total)
    lo, hi = np.inf, -np.inf
    for a in range(num_actions):
        if np.isnan(out[a]):
            out[a] = v_mix
        if edges[b, node, a].legal:
            lo, hi = min(lo, out[a]), max(hi, out[a])
    scale = (c_visit + max_n) * c_scale / max(hi - lo, 1e-8)
    for a in range(num_actions):
        out[a] = (out[a] - lo) * scale


@njit(cache=True, inline="always")
def improved_policy(edges, raw_value, b, node, c_visit, c_scale, solver, out):
    """Fill out[A] with softmax(log prior + sigma(completed Q)) over the legal actions."""
    sigma_q(edges, raw_value, b, node, c_visit, c_scale, solver, out)
    top = -np.inf
    for a in range(out.shape[0]):
        e = edges[b, node, a]
        if e.legal:
            out[a] += np.log(e.prior + 1e-12)
            top = max(top, out[a])
    total = 0.0
    for a in range(out.shape[0]):
        out[a] = np.exp(out[a] - top) if edges[b, node, a].legal else 0.0
        total += out[a]
    out /= total


@njit(cache=True, inline="always")
def _children_visits(edges, b, node):
    total = 0
    for a in range(edges.shape[2]):
        total += edges[b, node, a].visits
    return total


@njit(cache=True, inline="always")
def _gumbel_interior_child(edges, raw_value, b, node, c_visit, c_scale, solver, scratch):
    """Deterministic non-root choice: argmax improved policy - n(a) / (1 + total visits)."""
    if solver:
        win = _proven_win(edges, b, node)
        if win >= 0:
            return win
    improved_policy(edges, raw_value, b, node, c_visit, c_scale, solver, scratch)
    total = _children_visits(edges, b, node)
    best_score, best = -np.inf, -1
    for a in range(edges.shape[2]):
        e = edges[b, node, a]
        if e.legal:
            score = scratch[a] - e.visits / (1.0 + total)
            if score > best_score:
                best_score, best = score, a
    return best


@njit(cache=True, inline="always")
def _gumbel_root_child(edges, raw_value, b, gumbel_score, visit_table, c_visit, c_scale, solver, scratch):
    """Sequential halving at the root: among the considered actions whose visits equal the
    table's entry for this simulation, the one with the largest g + logits + sigma(Q)."""
    if solver:
        win = _proven_win(edges, b, 0)
        if win >= 0:
            return win
    done = _children_visits(edges, b, 0)
    target = visit_table[b, min(done, visit_table.shape[1] - 1)]
    sigma_q(edges, raw_value, b, 0, c_visit, c_scale, solver, scratch)
    best_score, best, fewest, fewest_n = -np.inf, -1, -1, 1 << 30
    for a in range(edges.shape[2]):
        if gumbel_score[b, a] == -np.inf:
            continue
        n = edges[b, 0, a].visits
        if n < fewest_n:
            fewest, fewest_n = a, n
        score = gumbel_score[b, a] + scratch[a]
        if n == target and score > best_score:
            best_score, best = score, a
    return best if best >= 0 else fewest


@njit(cache=True, inline="always")
def visit(e, virtual_loss):
    """A walk passes through the node of record e: one visit and a virtual loss at once."""
    e.visits += 1
    e.value += -virtual_loss


@njit(cache=True, inline="always")
def walk(edges, root, raw_value, states, path, path_action, b, i, method, c_init, c_base,
         fpu_reduction, solver, gumbel_score, visit_table, c_visit, c_scale, virtual_loss,
         scratch):
    """Walk tree b from its root as walk i (path, path_action: the walks' arrays); return
    (kind, depth). A NEW_LEAF walk stops at an edge with no node yet: path_action[i, depth] is
    its action and the caller allocates the node (and visits its record).

    Every node on the walk gets a visit and a virtual loss (undone or settled by the backup),
    each once its own choice is made. The arrays come one by one, not as the Tree tuple:
    numba reference-counts each array passed to an inlined function, atomically.
    """
    node, d = 0, 0
    e = root[b]
    path[i, 0] = 0
    while True:
        if e.status == TERMINAL or (solver and e.proven != UNKNOWN and d > 0):
            visit(e, virtual_loss)
            return KNOWN, d
        if e.status == NEW:
            visit(e, virtual_loss)
            return COLLISION, d
        if method == GUMBEL and d == 0:
            a = _gumbel_root_child(edges, raw_value, b, gumbel_score, visit_table, c_visit,
                                   c_scale, solver, scratch)
        elif method == GUMBEL:
            a = _gumbel_interior_child(edges, raw_value, b, node, c_visit, c_scale, solver,
                                       scratch)
        else:
            a = puct_child(edges, b, node, e.visits, e.value, c_init, c_base, fpu_reduction,
                           solver)
        visit(e, virtual_loss)
        if d + 1 >= path.shape[1]:
            raise ValueError("search path longer than the game's max_moves")
        e = edges[b, node, a]
        d += 1
        path_action[i, d] = a
        if e.child < 0:
            return NEW_LEAF, d
        node = e.child
        path[i, d] = node
        # if this is the last node of the walk, its state is copied for the new leaf: the
        # row is fetched while the node's choice is computed (perf: 6% of the time waited)
        prefetch(states, b, node)


@njit(cache=True)
def root_gumbel_stats(t, c_visit, c_scale, solver):
    """[B, A] sigma(completed Q) and [B, A] improved policy at every root (zeros if finished)."""
    batch, num_actions = t.parent.shape[0], t.edges.shape[2]
    sigma = np.zeros((batch, num_actions), np.float32)
    policy = np.zeros((batch, num_actions), np.float32)
    for b in range(batch):
        if t.root[b].status != TERMINAL:
            sigma_q(t.edges, t.raw_value, b, 0, c_visit, c_scale, solver, sigma[b])
            improved_policy(t.edges, t.raw_value, b, 0, c_visit, c_scale, solver, policy[b])
    return sigma, policy
