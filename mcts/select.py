"""Selection: walk each tree from its root to a leaf (PUCT or Gumbel), with virtual loss.

One call selects up to `leaves_per_tree` leaves in each of the B trees. New leaves are allocated
at once (their state is filled in by the caller from the parent's state and the action), so two
walks in one step never create the same node twice.
"""
import numpy as np
from numba import njit

from mcts.tree import UNKNOWN, add_visit, alloc_node

PUCT, GUMBEL = 0, 1
KNOWN, COLLISION = 1, 2  # kinds of the non-new leaves: exact value known / walk hit a pending node


@njit(cache=True, inline="always")
def _edge_q(t, b, node, a, solver):
    """Mean value of action a at node, for the mover at node (NaN if unvisited)."""
    if solver and t.edge_proven[b, node, a] != UNKNOWN:
        return np.float32(t.edge_proven[b, node, a])
    n = t.edge_visits[b, node, a]
    return t.edge_value[b, node, a] / n if n > 0 else np.nan


@njit(cache=True, inline="always")
def _proven_win(t, b, node):
    """An action of the mover at node that is proven to win, or -1."""
    for a in range(t.children.shape[2]):
        if t.edge_proven[b, node, a] == 1:
            return a
    return -1


@njit(cache=True, inline="always")
def puct_child(t, b, node, c_init, c_base, fpu_reduction, solver):
    """AlphaZero's PUCT choice at node: Q + c(N) * P * sqrt(N) / (1 + n).

    Unvisited children get the parent's value minus fpu_reduction (first-play urgency). With the
    solver, a proven win is taken at once and proven losses only when nothing else is left.
    """
    n_parent = t.visits[b, node]
    c = c_init + np.log((n_parent + c_base + 1.0) / c_base)
    explore = c * np.sqrt(max(n_parent, 1))
    parent_q = -t.value_sum[b, node] / n_parent if n_parent > 0 else 0.0
    fpu = parent_q - fpu_reduction
    best_score, best, lost_score, lost = -np.inf, -1, -np.inf, -1
    for a in range(t.children.shape[2]):
        if not t.legal[b, node, a]:
            continue
        if solver and t.edge_proven[b, node, a] == 1:
            return a
        n = t.edge_visits[b, node, a]
        if solver and t.edge_proven[b, node, a] == -1:
            # a proven loss: ranked by its searched value, for when every move loses
            score = t.edge_value[b, node, a] / max(n, 1) + explore * t.prior[b, node, a] / (1.0 + n)
            if score > lost_score:
                lost_score, lost = score, a
            continue
        q = _edge_q(t, b, node, a, solver)
        if np.isnan(q):
            q = fpu
        score = q + explore * t.prior[b, node, a] / (1.0 + n)
        if score > best_score:
            best_score, best = score, a
    return best if best >= 0 else lost


@njit(cache=True, inline="always")
def sigma_q(t, b, node, c_visit, c_scale, solver, out):
    """Fill out[A] with Gumbel search's sigma(completed Q) at node (Danihelka et al. 2022).

    Unvisited actions get v_mix, the value estimate mixed with the visited children's Q; Q is
    rescaled to [0, 1] over the legal actions, then scaled by (c_visit + max visits) * c_scale.
    """
    num_actions = t.children.shape[2]
    total, max_n, p_visited, pq_sum = 0, 0, 0.0, 0.0
    for a in range(num_actions):
        out[a] = np.nan
        if t.legal[b, node, a]:
            q = _edge_q(t, b, node, a, solver)
            if not np.isnan(q):
                n = t.edge_visits[b, node, a]
                out[a] = q
                total += n
                max_n = max(max_n, n)
                p_visited += t.prior[b, node, a]
                pq_sum += t.prior[b, node, a] * q
    v_mix = t.raw_value[b, node]
    if total > 0 and p_visited > 0:
        v_mix = (v_mix + total * pq_sum / p_visited) / (1.0 + total)
    lo, hi = np.inf, -np.inf
    for a in range(num_actions):
        if np.isnan(out[a]):
            out[a] = v_mix
        if t.legal[b, node, a]:
            lo, hi = min(lo, out[a]), max(hi, out[a])
    scale = (c_visit + max_n) * c_scale / max(hi - lo, 1e-8)
    for a in range(num_actions):
        out[a] = (out[a] - lo) * scale


@njit(cache=True, inline="always")
def improved_policy(t, b, node, c_visit, c_scale, solver, out):
    """Fill out[A] with softmax(log prior + sigma(completed Q)) over the legal actions."""
    sigma_q(t, b, node, c_visit, c_scale, solver, out)
    top = -np.inf
    for a in range(out.shape[0]):
        if t.legal[b, node, a]:
            out[a] += np.log(t.prior[b, node, a] + 1e-12)
            top = max(top, out[a])
    total = 0.0
    for a in range(out.shape[0]):
        out[a] = np.exp(out[a] - top) if t.legal[b, node, a] else 0.0
        total += out[a]
    out /= total


@njit(cache=True, inline="always")
def _gumbel_interior_child(t, b, node, c_visit, c_scale, solver, scratch):
    """Deterministic non-root choice: argmax improved policy - n(a) / (1 + total visits)."""
    if solver:
        win = _proven_win(t, b, node)
        if win >= 0:
            return win
    improved_policy(t, b, node, c_visit, c_scale, solver, scratch)
    total = t.edge_visits[b, node].sum()
    best_score, best = -np.inf, -1
    for a in range(t.children.shape[2]):
        if t.legal[b, node, a]:
            score = scratch[a] - t.edge_visits[b, node, a] / (1.0 + total)
            if score > best_score:
                best_score, best = score, a
    return best


@njit(cache=True, inline="always")
def _gumbel_root_child(t, b, gumbel_score, visit_table, c_visit, c_scale, solver, scratch):
    """Sequential halving at the root: among the considered actions whose visits equal the
    table's entry for this simulation, the one with the largest g + logits + sigma(Q)."""
    if solver:
        win = _proven_win(t, b, 0)
        if win >= 0:
            return win
    done = t.edge_visits[b, 0].sum()
    target = visit_table[b, min(done, visit_table.shape[1] - 1)]
    sigma_q(t, b, 0, c_visit, c_scale, solver, scratch)
    best_score, best, fewest, fewest_n = -np.inf, -1, -1, 1 << 30
    for a in range(t.children.shape[2]):
        if gumbel_score[b, a] == -np.inf:
            continue
        n = t.edge_visits[b, 0, a]
        if n < fewest_n:
            fewest, fewest_n = a, n
        score = gumbel_score[b, a] + scratch[a]
        if n == target and score > best_score:
            best_score, best = score, a
    return best if best >= 0 else fewest


@njit(cache=True)
def select_leaves(t, remaining, leaves_per_tree, method, c_init, c_base, fpu_reduction, solver,
                  gumbel_score, visit_table, c_visit, c_scale, virtual_loss,
                  new_tree, new_node, other_tree, other_node, other_kind):
    """Walk up to leaves_per_tree times down each tree with remaining[b] > 0 simulations.

    Every node on a walk gets a visit and a virtual loss at once (undone or settled by backup).
    Writes the new leaves to new_tree/new_node and the others (KNOWN or COLLISION) to
    other_*; returns (number of new leaves, number of others).
    """
    scratch = np.empty(t.children.shape[2], np.float32)
    n_new, n_other = 0, 0
    for b in range(t.parent.shape[0]):  # tree by tree, so that each stays in cache
        for k in range(min(leaves_per_tree, remaining[b])):
            node = 0
            while True:  # each node gets its visit once its own choice is made
                if t.terminal[b, node] or (solver and t.proven[b, node] != UNKNOWN and node > 0):
                    kind = KNOWN
                    add_visit(t, b, node, 1, -virtual_loss)
                    break
                if not t.expanded[b, node]:
                    kind = COLLISION
                    add_visit(t, b, node, 1, -virtual_loss)
                    break
                if method == GUMBEL and node == 0:
                    a = _gumbel_root_child(t, b, gumbel_score, visit_table, c_visit, c_scale,
                                           solver, scratch)
                elif method == GUMBEL:
                    a = _gumbel_interior_child(t, b, node, c_visit, c_scale, solver, scratch)
                else:
                    a = puct_child(t, b, node, c_init, c_base, fpu_reduction, solver)
                add_visit(t, b, node, 1, -virtual_loss)
                child = t.children[b, node, a]
                if child < 0:
                    child = alloc_node(t, b, node, a)
                    if child < 0:  # tree full: give the walk back and stop this tree
                        kind = COLLISION
                        remaining[b] = 0
                        break
                    add_visit(t, b, child, 1, -virtual_loss)
                    node = child
                    kind = -1
                    break
                node = child
            if kind == -1:
                new_tree[n_new], new_node[n_new] = b, node
                n_new += 1
            else:
                other_tree[n_other], other_node[n_other], other_kind[n_other] = b, node, kind
                n_other += 1
    return n_new, n_other


@njit(cache=True)
def root_gumbel_stats(t, c_visit, c_scale, solver):
    """[B, A] sigma(completed Q) and [B, A] improved policy at every root (zeros if finished)."""
    batch, num_actions = t.parent.shape[0], t.children.shape[2]
    sigma = np.zeros((batch, num_actions), np.float32)
    policy = np.zeros((batch, num_actions), np.float32)
    for b in range(batch):
        if not t.terminal[b, 0]:
            sigma_q(t, b, 0, c_visit, c_scale, solver, sigma[b])
            improved_policy(t, b, 0, c_visit, c_scale, solver, policy[b])
    return sigma, policy
