"""B search trees side by side, as preallocated arrays; node 0 of each tree is its root.

Values are stored from the view of the player who moved *into* a node, so a child's mean value is
directly the Q of the edge that leads to it (players alternate strictly).

A node's statistics live only on the edge that leads to it, and a node's edges lie together as
one row of records (`EDGE`, [B, N, A]): a walk reads a node's whole choice, and the visits,
value and status of the child it picks, from one short contiguous row, instead of one cache
line per array per node (the search is memory-bound). The roots, which have no parent, keep the
same record in `root` ([B]).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mcts.cache import njit

UNKNOWN = 2  # `proven` value of a node whose game value is not known exactly
NEW, EXPANDED, TERMINAL = 0, 1, 2  # a node's `status`: not expanded yet / expanded / game over

EDGE = np.dtype([
    ("child", np.int32),  # the child node, -1 = not created yet
    ("visits", np.int32),  # the child's visits, including virtual visits in flight
    ("value", np.float32),  # the child's value sum, view of the player who moved into it
    ("prior", np.float32),  # zero where illegal
    ("proven", np.int8),  # the child's exact value (same view), or UNKNOWN
    ("legal", np.bool_),
    ("status", np.int8),  # the child's NEW / EXPANDED / TERMINAL
], align=True)  # 20 bytes


class Tree(NamedTuple):
    """Arrays of B trees of capacity N nodes, A actions, states of S int64."""

    node_count: np.ndarray  # [B] int32, nodes in use (0 = no root yet)
    parent: np.ndarray  # [B, N] int32, -1 at the root
    action: np.ndarray  # [B, N] int32, the action that led from the parent
    edges: np.ndarray  # [B, N, A] EDGE, each node's actions and the statistics of its children
    root: np.ndarray  # [B] EDGE, each root's own statistics (child = 0; no prior)
    raw_value: np.ndarray  # [B, N] float32, evaluator's value, view of the player to move
    states: np.ndarray  # [B, N, S] int64

    @property
    def batch(self) -> int:
        return self.parent.shape[0]

    @property
    def capacity(self) -> int:
        return self.parent.shape[1]

    # Views by name, for reading and testing (the kernels use the records).
    @property
    def children(self) -> np.ndarray:  # [B, N, A] int32, -1 = not created yet
        return self.edges["child"]

    @property
    def legal(self) -> np.ndarray:  # [B, N, A] bool
        return self.edges["legal"]

    @property
    def prior(self) -> np.ndarray:  # [B, N, A] float32, writable view
        return self.edges["prior"]

    @property
    def edge_visits(self) -> np.ndarray:  # [B, N, A] int32
        return self.edges["visits"]

    @property
    def edge_value(self) -> np.ndarray:  # [B, N, A] float32
        return self.edges["value"]

    @property
    def edge_proven(self) -> np.ndarray:  # [B, N, A] int8
        return self.edges["proven"]

    def node_stats(self, field: str) -> np.ndarray:
        """[B, N] copy of one record field per node, read from its parent's row (root: `root`);
        nodes not in use get the field's value in a fresh record."""
        fresh = np.zeros((), EDGE)
        fresh["child"], fresh["proven"] = -1, UNKNOWN
        out = np.full(self.parent.shape, fresh[field], EDGE[field])
        b, n = np.nonzero(self.parent >= 0)
        used = n < self.node_count[b]
        b, n = b[used], n[used]
        out[b, n] = self.edges[field][b, self.parent[b, n], self.action[b, n]]
        has_root = self.node_count > 0
        out[has_root, 0] = self.root[field][has_root]
        return out

    @property
    def visits(self) -> np.ndarray:  # [B, N] int32, including virtual visits in flight
        return self.node_stats("visits")

    @property
    def value_sum(self) -> np.ndarray:  # [B, N] float32, view of the player who moved in
        return self.node_stats("value")

    @property
    def proven(self) -> np.ndarray:  # [B, N] int8, exact value (same view) or UNKNOWN
        return self.node_stats("proven")

    @property
    def expanded(self) -> np.ndarray:  # [B, N] bool, priors and legal moves are set
        return self.node_stats("status") != NEW

    @property
    def terminal(self) -> np.ndarray:  # [B, N] bool
        return self.node_stats("status") == TERMINAL


def new_tree(batch: int, capacity: int, num_actions: int, state_size: int) -> Tree:
    """Allocate B empty trees of `capacity` nodes each."""
    b, n, a = batch, capacity, num_actions
    edges = np.zeros((b, n, a), EDGE)
    edges["child"], edges["proven"] = -1, UNKNOWN
    root = np.zeros(b, EDGE)
    root["proven"] = UNKNOWN
    return Tree(
        node_count=np.zeros(b, np.int32), parent=np.full((b, n), -1, np.int32),
        action=np.full((b, n), -1, np.int32), edges=edges, root=root,
        raw_value=np.zeros((b, n), np.float32), states=np.zeros((b, n, state_size), np.int64))


def tree_bytes(tree: Tree) -> int:
    """Memory held by the tree arrays."""
    return sum(a.nbytes for a in tree)


@njit(cache=True, inline="always")
def clear_edge(e):
    e.child = -1
    e.visits = 0
    e.value = 0.0
    e.prior = 0.0
    e.proven = UNKNOWN
    e.legal = False
    e.status = NEW


@njit(cache=True, inline="always")
def new_node(node_count, parents, actions, edges, root, raw_value, b, parent, action):
    """A fresh node in tree b under (parent, action); -1 when the tree is full. (The tree's
    arrays one by one: numba reference-counts, atomically, each array it takes out of a tuple.)"""
    n = node_count[b]
    if n >= parents.shape[1]:
        return -1
    for a in range(edges.shape[2]):
        clear_edge(edges[b, n, a])
    raw_value[b, n] = 0.0
    node_count[b] = n + 1
    parents[b, n] = parent
    actions[b, n] = action
    if parent >= 0:
        edges[b, parent, action].child = n
    else:
        clear_edge(root[b])
        root[b].child = n
    return n


@njit(cache=True)
def alloc_node(t, b, parent, action):
    """new_node for the Tree t."""
    return new_node(t.node_count, t.parent, t.action, t.edges, t.root, t.raw_value, b, parent,
                    action)


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
    t.root[b] = t.edges[b, t.parent[b, new_root], t.action[b, new_root]]
    t.root[b].child = 0
    for n in range(new_root, count):
        if not inside[n]:
            continue
        m = new_index[n]
        t.parent[b, m] = -1 if n == new_root else new_index[t.parent[b, n]]
        t.action[b, m] = -1 if n == new_root else t.action[b, n]
        for a in range(t.edges.shape[2]):
            t.edges[b, m, a] = t.edges[b, n, a]
            child = t.edges[b, n, a].child
            t.edges[b, m, a].child = -1 if child < 0 else new_index[child]
        t.raw_value[b, m] = t.raw_value[b, n]
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
        child = t.edges[b, 0, actions[b]].child if t.node_count[b] > 0 else -1
        if child >= 0 and _mark_subtree(t, b, child, inside) <= max_kept:
            _compact(t, b, child, inside)
            reused[b] = True
        else:
            t.node_count[b] = 0
            alloc_node(t, b, -1, -1)
            t.states[b, 0] = next_states[b]
    return reused
