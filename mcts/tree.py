"""B search trees side by side, as preallocated struct-of-arrays; node 0 of each tree is its root.

Values are stored from the view of the player who moved *into* a node, so a child's mean value is
directly the Q of the edge that leads to it (players alternate strictly). Each node's edge
statistics are also kept beside its children ([B, N, A]), so that selection reads one contiguous
row per node instead of one scattered child at a time (about 2x faster here).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

UNKNOWN = 2  # `proven` value of a node whose game value is not known exactly


class Tree(NamedTuple):
    """Arrays of B trees of capacity N nodes, A actions, states of S int64."""

    node_count: np.ndarray  # [B] int32, nodes in use (0 = no root yet)
    parent: np.ndarray  # [B, N] int32, -1 at the root
    action: np.ndarray  # [B, N] int32, the action that led from the parent
    children: np.ndarray  # [B, N, A] int32, -1 = not created yet
    legal: np.ndarray  # [B, N, A] bool
    prior: np.ndarray  # [B, N, A] float32, zero where illegal
    visits: np.ndarray  # [B, N] int32, including virtual visits in flight
    value_sum: np.ndarray  # [B, N] float32, view of the player who moved into the node
    edge_visits: np.ndarray  # [B, N, A] int32, = visits of each child (0 if none)
    edge_value: np.ndarray  # [B, N, A] float32, = value_sum of each child
    edge_proven: np.ndarray  # [B, N, A] int8, = proven of each child (UNKNOWN if none)
    raw_value: np.ndarray  # [B, N] float32, evaluator's value, view of the player to move
    expanded: np.ndarray  # [B, N] bool, priors and legal moves are set
    terminal: np.ndarray  # [B, N] bool
    proven: np.ndarray  # [B, N] int8, exact value (view of the mover into the node) or UNKNOWN
    states: np.ndarray  # [B, N, S] int64

    @property
    def batch(self) -> int:
        return self.parent.shape[0]

    @property
    def capacity(self) -> int:
        return self.parent.shape[1]


def new_tree(batch: int, capacity: int, num_actions: int, state_size: int) -> Tree:
    """Allocate B empty trees of `capacity` nodes each."""
    b, n, a = batch, capacity, num_actions
    return Tree(
        node_count=np.zeros(b, np.int32), parent=np.full((b, n), -1, np.int32),
        action=np.full((b, n), -1, np.int32), children=np.full((b, n, a), -1, np.int32),
        legal=np.zeros((b, n, a), np.bool_), prior=np.zeros((b, n, a), np.float32),
        visits=np.zeros((b, n), np.int32), value_sum=np.zeros((b, n), np.float32),
        edge_visits=np.zeros((b, n, a), np.int32), edge_value=np.zeros((b, n, a), np.float32),
        edge_proven=np.full((b, n, a), UNKNOWN, np.int8),
        raw_value=np.zeros((b, n), np.float32), expanded=np.zeros((b, n), np.bool_),
        terminal=np.zeros((b, n), np.bool_), proven=np.full((b, n), UNKNOWN, np.int8),
        states=np.zeros((b, n, state_size), np.int64))


@njit(cache=True, inline="always")
def add_visit(t, b, node, visits, value):
    """Add visits and value to node and to the edge that leads to it."""
    t.visits[b, node] += visits
    t.value_sum[b, node] += value
    parent = t.parent[b, node]
    if parent >= 0:
        a = t.action[b, node]
        t.edge_visits[b, parent, a] += visits
        t.edge_value[b, parent, a] += value


@njit(cache=True, inline="always")
def set_proven(t, b, node, value):
    t.proven[b, node] = value
    parent = t.parent[b, node]
    if parent >= 0:
        t.edge_proven[b, parent, t.action[b, node]] = value


def tree_bytes(tree: Tree) -> int:
    """Memory held by the tree arrays."""
    return sum(a.nbytes for a in tree)


@njit(cache=True)
def _clear_node(t, b, n):
    t.parent[b, n] = -1
    t.action[b, n] = -1
    t.children[b, n] = -1
    t.legal[b, n] = False
    t.prior[b, n] = 0.0
    t.visits[b, n] = 0
    t.value_sum[b, n] = 0.0
    t.edge_visits[b, n] = 0
    t.edge_value[b, n] = 0.0
    t.edge_proven[b, n] = UNKNOWN
    t.raw_value[b, n] = 0.0
    t.expanded[b, n] = False
    t.terminal[b, n] = False
    t.proven[b, n] = UNKNOWN


@njit(cache=True)
def alloc_node(t, b, parent, action):
    """A fresh node in tree b under (parent, action); -1 when the tree is full."""
    n = t.node_count[b]
    if n >= t.parent.shape[1]:
        return -1
    _clear_node(t, b, n)
    t.node_count[b] = n + 1
    t.parent[b, n] = parent
    t.action[b, n] = action
    if parent >= 0:
        t.children[b, parent, action] = n
    return n


@njit(cache=True)
def set_roots(t, rows, states):
    """Make states[i] the fresh root of tree rows[i] (the old tree is dropped)."""
    for i in range(rows.shape[0]):
        b = rows[i]
        t.node_count[b] = 0
        alloc_node(t, b, -1, -1)
        t.states[b, 0] = states[i]


@njit(cache=True)
def _mark_subtree(t, b, root, inside):
    """Set inside[n] for the nodes of tree b under root (root included); return their number.

    Children are created after their parents, so one pass in index order suffices.
    """
    inside[:] = False
    inside[root] = True
    size = 1
    for n in range(root + 1, t.node_count[b]):
        if t.parent[b, n] >= 0 and inside[t.parent[b, n]]:
            inside[n] = True
            size += 1
    return size


@njit(cache=True)
def _compact(t, b, new_root, inside):
    """Move the nodes marked `inside` to the front of tree b in index order, new_root first.

    Ordering by old index keeps parents before children and moves every node to an index no
    larger than its own, so the copy can run in place.
    """
    count = t.node_count[b]
    new_index = np.cumsum(inside[:count]).astype(np.int32) - 1
    for n in range(new_root, count):
        if not inside[n]:
            continue
        m = new_index[n]
        t.parent[b, m] = -1 if n == new_root else new_index[t.parent[b, n]]
        t.action[b, m] = -1 if n == new_root else t.action[b, n]
        for a in range(t.children.shape[2]):
            child = t.children[b, n, a]
            t.children[b, m, a] = -1 if child < 0 else new_index[child]
        t.legal[b, m] = t.legal[b, n]
        t.prior[b, m] = t.prior[b, n]
        t.visits[b, m] = t.visits[b, n]
        t.value_sum[b, m] = t.value_sum[b, n]
        t.edge_visits[b, m] = t.edge_visits[b, n]
        t.edge_value[b, m] = t.edge_value[b, n]
        t.edge_proven[b, m] = t.edge_proven[b, n]
        t.raw_value[b, m] = t.raw_value[b, n]
        t.expanded[b, m] = t.expanded[b, n]
        t.terminal[b, m] = t.terminal[b, n]
        t.proven[b, m] = t.proven[b, n]
        t.states[b, m] = t.states[b, n]
    t.node_count[b] = new_index[count - 1] + 1


@njit(cache=True)
def advance_roots(t, actions, next_states, max_kept):
    """Move each tree's root to the child reached by actions[b] (tree reuse).

    The child's subtree is kept when it exists and holds at most max_kept nodes; otherwise the
    tree restarts from next_states[b]. Returns [B] bool: which trees kept a subtree.
    """
    batch = t.parent.shape[0]
    inside = np.zeros(t.parent.shape[1], np.bool_)
    reused = np.zeros(batch, np.bool_)
    for b in range(batch):
        child = t.children[b, 0, actions[b]] if t.node_count[b] > 0 else -1
        if child >= 0 and _mark_subtree(t, b, child, inside) <= max_kept:
            _compact(t, b, child, inside)
            reused[b] = True
        else:
            t.node_count[b] = 0
            alloc_node(t, b, -1, -1)
            t.states[b, 0] = next_states[b]
    return reused
