"""One batched search step as one kernel: in each tree, settle the walks of the last step, then
walk it again (while the tree is still in cache).

This kernel compiles in the code of select.py, update.py, tree.py and memory.py; its cache is
kept in step with them (mcts.cache), so an edit to any of them takes effect.
"""
from typing import NamedTuple

import numpy as np

from mcts.cache import njit
from mcts.memory import borrowed
from mcts.select import COLLISION, KNOWN, NEW_LEAF, Walks, visit, walk
from mcts.tree import TERMINAL, UNKNOWN, Tree, new_node
from mcts.update import backup_walk, expand, prove_upwards, revert_walk


class Settings(NamedTuple):
    """The search's settings as the kernels take them: one named tuple of scalars (each of
    its type: numba compiles a kernel per tuple of types), unpacked once per kernel call."""

    leaves_per_tree: int
    method: int  # mcts.select.PUCT or GUMBEL
    c_init: float
    c_base: float
    fpu_reduction: float
    solver: bool
    c_visit: float  # Gumbel's c_visit and c_scale
    c_scale: float
    virtual_loss: float
    exact_terminals: bool


# (for compiled callers only: the views must not outlive the tuples' arrays)
@njit(cache=True, inline="always")
def _borrowed_tree(t):
    return Tree(borrowed(t.node_count), borrowed(t.parent), borrowed(t.action),
                borrowed(t.edges), borrowed(t.root), borrowed(t.raw_value), borrowed(t.states))


@njit(cache=True, inline="always")
def _borrowed_walks(w):
    return Walks(borrowed(w.count), borrowed(w.tree), borrowed(w.kind), borrowed(w.depth),
                 borrowed(w.path), borrowed(w.path_action), borrowed(w.leaf_states),
                 borrowed(w.leaf_actions), borrowed(w.scratch))


@njit(cache=True)
def step(t, done, walks, remaining, masks, outcomes, priors, values, settings, gumbel_score,
         visit_table):
    """Settle the walks `done` (their new leaves evaluated: masks, outcomes, priors, values in
    leaf order), then make up to settings.leaves_per_tree new walks in each tree with
    remaining[b] > 0 simulations into `walks`, with the states and actions of the new leaves.
    gumbel_score and visit_table: Gumbel's root scores and visit schedule. Returns (walks made,
    new leaves among them)."""
    leaves_per_tree, method, c_init, c_base, fpu_reduction, solver, cvisit, c_scale, \
        virtual_loss, exact_terminals = settings
    # every array out of its tuple once, and borrowed (see mcts.memory.borrowed)
    node_count, parents, actions, edges, root, raw_value, states = _borrowed_tree(t)
    _, walk_tree, walk_kind, walk_depth, path, path_action, leaf_states, leaf_actions, \
        scratch = _borrowed_walks(walks)
    done_count, done_tree, done_kind, done_depth, done_path, done_action, done_states, _, _ = \
        _borrowed_walks(done)
    masks, outcomes, priors, values = \
        borrowed(masks), borrowed(outcomes), borrowed(priors), borrowed(values)
    gumbel_score, visit_table = borrowed(gumbel_score), borrowed(visit_table)
    state_size = states.shape[2]
    n_done, i_done, leaf = done_count[0], 0, 0
    n, n_new = 0, 0
    for b in range(parents.shape[0]):  # tree by tree, so that each stays in cache
        start = i_done
        while i_done < n_done and done_tree[i_done] == b:
            i_done += 1
        # settle: first the new leaves, expanded with their evaluation and backed up ...
        for i in range(start, i_done):
            if done_kind[i] != NEW_LEAF:
                continue
            d = done_depth[i]
            node, parent = done_path[i, d], done_path[i, d - 1]
            e = edges[b, parent, done_action[i, d]]
            for k in range(state_size):
                states[b, node, k] = done_states[leaf, k]
            value = expand(edges, raw_value, b, node, e, masks, priors, leaf, outcomes[leaf],
                           values[leaf], exact_terminals)
            backup_walk(root, edges, done_path, done_action, b, i, d, value, virtual_loss)
            if solver and e.status == TERMINAL:
                prove_upwards(root, edges, done_path, done_action, b, i, d)
            remaining[b] -= 1
            leaf += 1
        # ... then the others: backed up with their exact value (a blind search's terminal
        # nodes: their evaluation), or given back (collisions)
        for i in range(start, i_done):
            d = done_depth[i]
            if done_kind[i] == COLLISION:
                revert_walk(root, edges, done_path, done_action, b, i, d, virtual_loss)
            elif done_kind[i] == KNOWN:
                e = root[b] if d == 0 else edges[b, done_path[i, d - 1], done_action[i, d]]
                known = (raw_value[b, done_path[i, d]] if e.proven == UNKNOWN
                         else np.float32(-e.proven))
                backup_walk(root, edges, done_path, done_action, b, i, d, known, virtual_loss)
                remaining[b] -= 1
        for _ in range(min(leaves_per_tree, remaining[b])):
            kind, d = walk(edges, root, raw_value, states, path, path_action, b, n, method,
                           c_init, c_base, fpu_reduction, solver, gumbel_score, visit_table,
                           cvisit, c_scale, virtual_loss, scratch)
            if kind == NEW_LEAF:
                parent, action = path[n, d - 1], path_action[n, d]
                child = new_node(node_count, parents, actions, edges, root, raw_value, b,
                                 parent, action)
                if child < 0:  # tree full: the walk is given back (as a collision at parent)
                    kind, d = COLLISION, d - 1
                    remaining[b] = 0
                else:
                    path[n, d] = child
                    visit(edges[b, parent, action], virtual_loss)
                    for j in range(state_size):
                        leaf_states[n_new, j] = states[b, parent, j]
                    leaf_actions[n_new] = action
                    n_new += 1
            walk_tree[n], walk_depth[n], walk_kind[n] = b, d, kind
            n += 1
    walks.count[0], walks.count[1] = n, n_new
    return n, n_new


@njit(cache=True)
def search_with_rollouts(t, done, walks, remaining, masks, outcomes, priors, values, settings,
                         gumbel_score, visit_table, rng, rollouts, play, legal_masks,
                         game_outcomes, playouts):
    """The whole search loop of `Searcher.run` in compiled code, for pure MCTS: each step's new
    leaves are played, masked and scored by the game's own kernels (passed as functions) with
    uniform priors and the mean of `rollouts` random playouts (0: value 0), without returning
    to Python between steps."""
    # the step's arguments borrowed once, not counted at each of its calls
    t, done, walks = _borrowed_tree(t), _borrowed_walks(done), _borrowed_walks(walks)
    remaining, gumbel_score, visit_table = \
        borrowed(remaining), borrowed(gumbel_score), borrowed(visit_table)
    n_walks, n_new = step(t, done, walks, remaining, masks, outcomes, priors, values, settings,
                          gumbel_score, visit_table)
    while n_walks > 0:
        leaves = walks.leaf_states[:n_new]
        play(leaves, walks.leaf_actions[:n_new])
        leaf_masks, leaf_outcomes = legal_masks(leaves), game_outcomes(leaves)
        leaf_values = np.zeros(n_new, np.float32)
        for _ in range(rollouts):
            leaf_values += playouts(leaves, rng)
        if rollouts > 1:
            leaf_values /= rollouts
        leaf_priors = np.empty(leaf_masks.shape, np.float32)
        for i in range(n_new):
            legal = max(leaf_masks[i].sum(), 1)
            for a in range(leaf_masks.shape[1]):
                leaf_priors[i, a] = leaf_masks[i, a] / legal
        done, walks = walks, done
        n_walks, n_new = step(t, done, walks, remaining, leaf_masks, leaf_outcomes,
                              leaf_priors, leaf_values, settings, gumbel_score, visit_table)
