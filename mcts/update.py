"""Expansion and backup of the selected leaves, and MCTS-solver proofs."""
import numpy as np
from numba import njit

from games.interface import ONGOING
from mcts.select import COLLISION
from mcts.tree import UNKNOWN, add_visit, set_proven


@njit(cache=True, inline="always")
def _expand(t, b, node, mask, outcome, prior, value):
    """Set a new node's legal moves and priors; return its value for the player to move."""
    t.expanded[b, node] = True
    t.legal[b, node] = mask
    if outcome != ONGOING:
        t.terminal[b, node] = True
        set_proven(t, b, node, -outcome)
        return np.float32(outcome)
    total = 0.0
    for a in range(mask.shape[0]):
        total += prior[a] if mask[a] else 0.0
    for a in range(mask.shape[0]):
        if not mask[a]:
            t.prior[b, node, a] = 0.0
        elif total > 0.0:
            t.prior[b, node, a] = prior[a] / total
        else:
            t.prior[b, node, a] = 1.0 / mask.sum()
    t.raw_value[b, node] = value
    return value


@njit(cache=True, inline="always")
def _prove_upwards(t, b, node):
    """Propagate an exact value from node to its ancestors while they become proven.

    A parent is won for its mover when one child is a proven win for that mover, and decided
    when all its legal children are proven: then it is worth the best of them.
    """
    while node > 0 and t.proven[b, node] != UNKNOWN:
        parent = t.parent[b, node]
        if t.proven[b, node] == 1:
            set_proven(t, b, parent, -1)
        else:
            best = -1
            for a in range(t.children.shape[2]):
                if t.legal[b, parent, a]:
                    if t.edge_proven[b, parent, a] == UNKNOWN:
                        return
                    best = max(best, t.edge_proven[b, parent, a])
            set_proven(t, b, parent, -best)
        node = parent


@njit(cache=True, inline="always")
def _backup_path(t, b, leaf, value, virtual_loss):
    """Add the leaf's value (view of its player to move) along the path, settling virtual loss."""
    q = -value
    node = leaf
    while node >= 0:
        add_visit(t, b, node, 0, q + virtual_loss)
        q = -q
        node = t.parent[b, node]


@njit(cache=True, inline="always")
def _revert_path(t, b, leaf, virtual_loss):
    node = leaf
    while node >= 0:
        add_visit(t, b, node, -1, virtual_loss)
        node = t.parent[b, node]


@njit(cache=True)
def backup(t, remaining, new_tree, new_node, leaf_states, masks, outcomes, priors, values,
           other_tree, other_node, other_kind, virtual_loss, solver):
    """Expand the new leaves with their evaluation and back every leaf's value up its path.

    New leaf i is tree new_tree[i], node new_node[i], with state leaf_states[i], legal mask
    masks[i], outcome outcomes[i] (ONGOING or exact), and evaluator output priors[i], values[i]
    (ignored for finished games, which are scored from the rules).
    """
    for i in range(new_tree.shape[0]):
        b, node = new_tree[i], new_node[i]
        t.states[b, node] = leaf_states[i]
        value = _expand(t, b, node, masks[i], outcomes[i], priors[i], values[i])
        _backup_path(t, b, node, value, virtual_loss)
        if solver and t.terminal[b, node]:
            _prove_upwards(t, b, node)
        remaining[b] -= 1
    for i in range(other_tree.shape[0]):
        b, node = other_tree[i], other_node[i]
        if other_kind[i] == COLLISION:
            _revert_path(t, b, node, virtual_loss)
        else:
            _backup_path(t, b, node, np.float32(-t.proven[b, node]), virtual_loss)
            remaining[b] -= 1


@njit(cache=True)
def expand_roots(t, rows, masks, outcomes, priors, values):
    """Expand the (new) roots of trees rows[i] with their evaluation; counts as their first visit."""
    for i in range(rows.shape[0]):
        b = rows[i]
        value = _expand(t, b, 0, masks[i], outcomes[i], priors[i], values[i])
        add_visit(t, b, 0, 1, -value)
