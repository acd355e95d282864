"""Expansion and backup of the selected leaves, and MCTS-solver proofs."""
import numpy as np
from numba import njit

from games.interface import ONGOING
from mcts.select import COLLISION, NEW_LEAF, walk_edge
from mcts.tree import EXPANDED, TERMINAL, UNKNOWN


@njit(cache=True, inline="always")
def _expand(edges, raw_value, b, node, e, mask, outcome, prior, value):
    """Set a new node's legal moves and priors (e: its record); return its value for the
    player to move."""
    e.status = EXPANDED
    for a in range(mask.shape[0]):
        edges[b, node, a].legal = mask[a]
    if outcome != ONGOING:
        e.status = TERMINAL
        e.proven = -outcome
        return np.float32(outcome)
    total = 0.0
    for a in range(mask.shape[0]):
        total += prior[a] if mask[a] else 0.0
    for a in range(mask.shape[0]):
        if not mask[a]:
            edges[b, node, a].prior = 0.0
        elif total > 0.0:
            edges[b, node, a].prior = prior[a] / total
        else:
            edges[b, node, a].prior = 1.0 / mask.sum()
    raw_value[b, node] = value
    return value


# The helpers below take the arrays they use, not the Tree and Walks tuples, and write the
# records on a path out instead of calling a helper per level: numba reference-counts every
# array passed to an inlined function (a tuple: each of its arrays) with atomic instructions,
# which perf showed to be 65% of the search's time (mcts/step.py hoists the arrays once).

@njit(cache=True, inline="always")
def _prove_upwards(root, edges, path, path_action, b, i, depth):
    """Propagate an exact value from walk i's leaf to its ancestors while they become proven.

    A parent is won for its mover when one child is a proven win for that mover, and decided
    when all its legal children are proven: then it is worth the best of them.
    """
    d = depth
    while d > 0:
        parent = path[i, d - 1]
        proven = edges[b, parent, path_action[i, d]].proven
        if proven == UNKNOWN:
            return
        above = root[b] if d == 1 else edges[b, path[i, d - 2], path_action[i, d - 1]]
        if proven == 1:
            above.proven = -1
        else:
            best = -1
            for a in range(edges.shape[2]):
                e = edges[b, parent, a]
                if e.legal:
                    if e.proven == UNKNOWN:
                        return
                    best = max(best, e.proven)
            above.proven = -best
        d -= 1


@njit(cache=True, inline="always")
def _backup_walk(root, edges, path, path_action, b, i, depth, value, virtual_loss):
    """Add the leaf's value (view of its player to move) along walk i, settling virtual loss."""
    q = -value
    for d in range(depth, 0, -1):  # the records on the path, written out: no call per level
        edges[b, path[i, d - 1], path_action[i, d]].value += q + virtual_loss
        q = -q
    root[b].value += q + virtual_loss


@njit(cache=True, inline="always")
def _revert_walk(root, edges, path, path_action, b, i, depth, virtual_loss):
    for d in range(depth, 0, -1):
        e = edges[b, path[i, d - 1], path_action[i, d]]
        e.visits -= 1
        e.value += virtual_loss
    root[b].visits -= 1
    root[b].value += virtual_loss


@njit(cache=True, inline="always")
def settle_tree(t, w, start, end, first_leaf, remaining, masks, outcomes, priors, values,
                virtual_loss, solver):
    """Settle walks start..end-1 of w (all in one tree): first the new leaves, numbered from
    first_leaf, expanded with their evaluation and backed up; then the others, backed up with
    their exact value (KNOWN) or given back (COLLISION). Returns the next leaf number."""
    root, edges, path, path_action = t.root, t.edges, w.path, w.path_action
    j = first_leaf
    for i in range(start, end):
        if w.kind[i] != NEW_LEAF:
            continue
        b, d = w.tree[i], w.depth[i]
        node = path[i, d]
        e = walk_edge(root, edges, path, path_action, b, i, d)
        t.states[b, node] = w.leaf_states[j]
        value = _expand(edges, t.raw_value, b, node, e, masks[j], outcomes[j], priors[j],
                        values[j])
        _backup_walk(root, edges, path, path_action, b, i, d, value, virtual_loss)
        if solver and e.status == TERMINAL:
            _prove_upwards(root, edges, path, path_action, b, i, d)
        remaining[b] -= 1
        j += 1
    for i in range(start, end):
        b, d = w.tree[i], w.depth[i]
        if w.kind[i] == COLLISION:
            _revert_walk(root, edges, path, path_action, b, i, d, virtual_loss)
        elif w.kind[i] != NEW_LEAF:
            proven = walk_edge(root, edges, path, path_action, b, i, d).proven
            _backup_walk(root, edges, path, path_action, b, i, d, np.float32(-proven),
                         virtual_loss)
            remaining[b] -= 1
    return j


@njit(cache=True)
def expand_roots(t, rows, masks, outcomes, priors, values):
    """Expand the (new) roots of trees rows[i] with their evaluation; counts as their first visit."""
    for i in range(rows.shape[0]):
        b = rows[i]
        e = t.root[b]
        value = _expand(t.edges, t.raw_value, b, 0, e, masks[i], outcomes[i], priors[i],
                        values[i])
        e.visits += 1
        e.value += -value
