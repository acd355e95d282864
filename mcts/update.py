"""Expansion and backup of the selected leaves, and MCTS-solver proofs."""
import numpy as np

from games.interface import ONGOING
from mcts.cache import njit
from mcts.tree import EXPANDED, TERMINAL, UNKNOWN


@njit(cache=True, inline="always")
def expand(edges, raw_value, b, node, e, masks, priors, j, outcome, value,
           exact_terminals):
    """Set a new node's legal moves and priors from row j of masks and priors (e: its record);
    return its value for the player to move. A finished game's node is terminal; its value is
    the result (proven) with exact_terminals, else the evaluator's value (kept in raw_value,
    for every later visit: a search blind to the game's verdict)."""
    num_actions = masks.shape[1]
    e.status = EXPANDED
    legal = 0
    for a in range(num_actions):
        edges[b, node, a].legal = masks[j, a]
        legal += masks[j, a]
    if outcome != ONGOING:
        e.status = TERMINAL
        if not exact_terminals:
            raw_value[b, node] = value
            return value
        e.proven = -outcome
        return np.float32(outcome)
    total = 0.0
    for a in range(num_actions):
        total += priors[j, a] if masks[j, a] else 0.0
    for a in range(num_actions):
        if not masks[j, a]:
            edges[b, node, a].prior = 0.0
        elif total > 0.0:
            edges[b, node, a].prior = priors[j, a] / total
        else:
            edges[b, node, a].prior = 1.0 / legal
    raw_value[b, node] = value
    return value


# The helpers here take the arrays they use, not the Tree and Walks tuples, and write the
# records on a path out instead of calling a helper per level: numba reference-counts every
# array passed to an inlined function (a tuple: each of its arrays) with atomic instructions,
# which perf showed to be 65% of the search's time. mcts/step.py takes the arrays out of the
# tuples once per step and settles the walks itself.

@njit(cache=True, inline="always")
def prove_upwards(root, edges, path, path_action, b, i, depth):
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
def backup_walk(root, edges, path, path_action, b, i, depth, value, virtual_loss):
    """Add the leaf's value (view of its player to move) along walk i, settling virtual loss."""
    q = -value
    for d in range(depth, 0, -1):  # the records on the path, written out: no call per level
        edges[b, path[i, d - 1], path_action[i, d]].value += q + virtual_loss
        q = -q
    root[b].value += q + virtual_loss


@njit(cache=True, inline="always")
def revert_walk(root, edges, path, path_action, b, i, depth, virtual_loss):
    for d in range(depth, 0, -1):
        e = edges[b, path[i, d - 1], path_action[i, d]]
        e.visits -= 1
        e.value += virtual_loss
    root[b].visits -= 1
    root[b].value += virtual_loss


@njit(cache=True)
def expand_roots(t, rows, masks, outcomes, priors, values, exact_terminals):
    """Expand the (new) roots of trees rows[i] with their evaluation; counts as their first visit."""
    for i in range(rows.shape[0]):
        b = rows[i]
        e = t.root[b]
        value = expand(t.edges, t.raw_value, b, 0, e, masks, priors, i, outcomes[i], values[i],
                       exact_terminals)
        e.visits += 1
        e.value += -value
