"""The batched search loop: select (numba) -> play + encode (game) -> evaluate -> backup (numba).

Python runs once per step for all B trees, never once per node. The backup of one step and the
selection of the next are one kernel call (`mcts.step`), tree by tree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numba import types

from games import ONGOING, Game
from mcts import policies
from mcts.evaluators import Evaluator, RolloutEvaluator, UniformEvaluator
from mcts.select import GUMBEL, PUCT, new_walks, root_gumbel_stats
from mcts.step import Settings, search_with_rollouts, step
from mcts.tree import NEW, TERMINAL, UNKNOWN, Tree, advance_roots, new_tree, set_roots
from mcts.update import expand_roots


@dataclass(frozen=True)
class SearchConfig:
    """Search settings; defaults are AlphaZero's (PUCT) and Gumbel MuZero's where they exist."""

    simulations: int = 200
    method: str = "puct"  # "puct" (AlphaZero) or "gumbel" (sequential halving at the root)
    leaves_per_tree: int = 1  # leaves selected per tree per step, kept apart by virtual loss
    virtual_loss: float = 1.0
    c_init: float = 1.25
    c_base: float = 19652.0
    fpu_reduction: float = 0.0  # unvisited children: parent value minus this
    dirichlet_fraction: float = 0.25  # root noise in self-play (PUCT only); 0 = none
    dirichlet_alpha: float = 0.0  # 0 = the game's own alpha
    gumbel_considered: int = 16
    gumbel_c_visit: float = 50.0
    gumbel_c_scale: float = 0.1
    solver: bool = True  # propagate proven wins and losses (MCTS-solver)
    # a finished game's node is worth its result; False: the evaluator's value there (a search
    # blind to the game's verdict, for the research kit's critics; no solver then)
    exact_terminals: bool = True
    reuse_tree: bool = True

    def __post_init__(self):
        if self.method not in ("puct", "gumbel"):
            raise ValueError(f"search.method must be 'puct' or 'gumbel', not {self.method!r}")
        if self.simulations < 0 or self.leaves_per_tree < 1:
            raise ValueError("search.simulations must be >= 0 and search.leaves_per_tree >= 1")
        if self.solver and not self.exact_terminals:
            raise ValueError("search.solver needs search.exact_terminals: proofs start from "
                             "the results of finished games")


class SearchResult(NamedTuple):
    visits: np.ndarray  # [B, A] int32, root children's visit counts
    policy: np.ndarray  # [B, A] float32, training target: visit shares (PUCT) or improved policy,
    #                     within the moves that the solver did not prove worse
    value: np.ndarray  # [B] float32, root value for the player to move
    action: np.ndarray  # [B] int64, the search's own pick: a proven win, else Gumbel's or most visits
    proven: np.ndarray  # [B] int8, exact root value for the player to move, or UNKNOWN


_STATES = types.Array(types.int64, 2, "C")
# play, legal_masks, outcomes and playouts of any game as function pointers: one compiled (and
# cached) search loop serves every game (typed as themselves, each game's kernels would give
# the loop a cache entry of its own, and numba's cache index fails to compare such entries)
GAME_KERNEL_TYPES = (
    types.FunctionType(types.none(_STATES, types.Array(types.int64, 1, "C"))),
    types.FunctionType(types.Array(types.bool_, 2, "C")(_STATES)),
    types.FunctionType(types.Array(types.int8, 1, "C")(_STATES)),
    types.FunctionType(types.Array(types.float32, 1, "C")(
        _STATES, types.Array(types.uint64, 1, "C"))),
)


def kernel_settings(cfg: SearchConfig) -> Settings:
    """cfg's settings as the search's kernels take them, each of its own type."""
    return Settings(int(cfg.leaves_per_tree), GUMBEL if cfg.method == "gumbel" else PUCT,
                    float(cfg.c_init), float(cfg.c_base), float(cfg.fpu_reduction),
                    bool(cfg.solver), float(cfg.gumbel_c_visit), float(cfg.gumbel_c_scale),
                    float(cfg.virtual_loss), bool(cfg.exact_terminals))


def _signature(args):
    return tuple(numba.typeof(a) for a in args)


def _type_key(args):
    """What decides the numba types of a search's arguments, cheaply: the tree and walks are the
    Searcher's own and keep their types, the settings are scalars, a named tuple of scalars
    and small arrays."""
    return tuple((a.dtype, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous,
                  a.flags.writeable, a.flags.aligned) if isinstance(a, np.ndarray)
                 else (type(a), tuple(map(type, a))) if isinstance(a, tuple)
                 else type(a) for a in args)


class Searcher:
    """B trees searched together for one game with one evaluator."""

    def __init__(self, game: Game, evaluate: Evaluator, config: SearchConfig, batch: int,
                 seed: int = 0):
        self.game, self.evaluate, self.config = game, evaluate, config
        budget = max(config.simulations, 1) + config.leaves_per_tree
        self.tree: Tree = new_tree(batch, 2 * budget + 1, game.num_actions, game.state_size)
        self.rng = np.random.default_rng(seed)
        self._walks = self._new_walks()
        self._kernels = {}  # compiled kernels by argument types (see `_kernel`)
        # masks, outcomes, priors and values of no leaves, for a step with nothing to settle
        self._no_leaves = (np.zeros((0, game.num_actions), np.bool_), np.zeros(0, np.int8),
                           np.zeros((0, game.num_actions), np.float32), np.zeros(0, np.float32))

    def _new_walks(self):
        """The walks of two steps: one being made while the other is settled."""
        walks = self.tree.batch * self.config.leaves_per_tree
        game = self.game
        return [new_walks(walks, game.max_moves + 1, game.state_size, game.num_actions)
                for _ in range(2)]

    def set_roots(self, states: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Start fresh trees at states ([n, S]) in rows (default: all trees)."""
        rows = np.arange(len(states)) if rows is None else np.asarray(rows, np.int64)
        set_roots(self.tree, rows, states)

    def advance(self, actions: np.ndarray, next_states: np.ndarray) -> None:
        """Play actions[b] at every root, keeping the chosen subtree when reuse is on."""
        max_kept = self.tree.capacity - self.config.simulations - self.config.leaves_per_tree - 1
        if not self.config.reuse_tree:
            max_kept = 0
        advance_roots(self.tree, np.asarray(actions, np.int64), next_states, max_kept)

    def run(self, add_noise: bool = False, simulations: int | None = None) -> SearchResult:
        """Run config.simulations simulations in every tree and return the root statistics.

        add_noise: explore as self-play does, with Dirichlet noise in the root's priors (PUCT)
        or Gumbel noise in its choice of actions (Gumbel); without, the search plays its best.
        simulations: this many instead (at most config.simulations, which the trees are sized
        for), for this call only: a playout cap's fast moves (the config is never changed)."""
        t, cfg, game = self.tree, self.config, self.game
        if simulations is None:
            simulations = cfg.simulations
        elif not 0 <= simulations <= cfg.simulations:
            raise ValueError(f"a search of {cfg.simulations} simulations cannot run "
                             f"{simulations}")
        self._expand_unexpanded_roots()
        live = t.root["status"] != TERMINAL
        if add_noise and cfg.method == "puct" and cfg.dirichlet_fraction > 0:
            alpha = cfg.dirichlet_alpha or game.dirichlet_alpha
            t.prior[:, 0] = np.where(live[:, None], policies.add_dirichlet_noise(
                t.prior[:, 0], t.legal[:, 0], alpha, cfg.dirichlet_fraction, self.rng),
                t.prior[:, 0])
        if cfg.method == "gumbel":
            gumbel_score, table = policies.gumbel_setup(
                t.prior[:, 0], t.legal[:, 0], cfg.gumbel_considered, simulations,
                self.rng if add_noise else None)
        else:
            gumbel_score = np.zeros((t.batch, game.num_actions), np.float32)
            table = np.zeros((t.batch, 1), np.int32)
        remaining = np.where(live, simulations, 0).astype(np.int64)
        done, walks = self._walks
        done.count[:] = 0
        settings = (kernel_settings(cfg), gumbel_score, table)
        args = (t, done, walks, remaining, *self._no_leaves, *settings)
        if isinstance(self.evaluate, (RolloutEvaluator, UniformEvaluator)):
            self._search_with_rollouts(args)
            return self._result(gumbel_score, simulations)
        step_kernel = self._kernel(step, args)
        n_walks, n_new = step_kernel(*args)
        while n_walks > 0:  # select -> play and evaluate the new leaves -> settle and select
            leaves = walks.leaf_states[:n_new]
            game.play(leaves, walks.leaf_actions[:n_new])
            masks, outcomes = game.legal_masks(leaves), game.outcomes(leaves)
            priors, values = self._evaluate(leaves, masks, outcomes)
            done, walks = walks, done
            n_walks, n_new = step_kernel(  # one kernel: settle `done`, then the next walks
                t, done, walks, remaining, np.ascontiguousarray(masks, np.bool_),
                np.ascontiguousarray(outcomes, np.int8), priors, values, *settings)
        return self._result(gumbel_score, simulations)

    def _kernel(self, kernel, args, functions=()):
        """kernel's machine code for the types of args followed by `functions` (numba types of
        function arguments), compiled or loaded from numba's cache, as a function that skips
        numba's type dispatch: every call must pass arguments of exactly these types. (Typing
        the search's named tuples of arrays takes about 10 us per array: more than a step's work
        for one tree, and at batch 1 most of a search's time; so the code is kept per
        Searcher.)"""
        key = (kernel, _type_key(args[3:]))  # args[:3]: the tree and walks
        if key not in self._kernels:
            self._kernels[key] = kernel.compile(_signature(args) + functions)
        return self._kernels[key]

    def _search_with_rollouts(self, args) -> None:
        """The search loop in one compiled call, for the evaluators that are game kernels."""
        game, rollouts, rng = self.game, self.evaluate.rollouts, self.evaluate.rng
        args = (*args, rng, np.int64(rollouts))
        kernel = self._kernel(search_with_rollouts, args, GAME_KERNEL_TYPES)
        kernel(*args, game.play, game.legal_masks, game.outcomes, game.playouts)

    def _expand_unexpanded_roots(self) -> None:
        t, game = self.tree, self.game
        rows = np.flatnonzero(t.root["status"] == NEW)
        if len(rows) == 0:
            return
        states = t.states[rows, 0]
        masks, outcomes = game.legal_masks(states), game.outcomes(states)
        priors, values = self._evaluate(states, masks, outcomes)
        expand_roots(t, rows, masks, outcomes, priors, values, self.config.exact_terminals)

    def _evaluate(self, states, masks, outcomes):
        """Evaluator output for the unfinished states; finished ones keep zeros (a search
        blind to results evaluates them too)."""
        live = (outcomes == ONGOING) | (not self.config.exact_terminals)
        if len(states) and live.all():  # the usual case: no copies
            priors, values = self.evaluate(states, masks)
            return (np.ascontiguousarray(priors, np.float32),
                    np.ascontiguousarray(values, np.float32))
        priors = np.zeros(masks.shape, np.float32)
        values = np.zeros(len(states), np.float32)
        live = np.flatnonzero(live)
        if len(live):
            priors[live], values[live] = self.evaluate(states[live], masks[live])
        return priors, values

    def _result(self, gumbel_score, simulations: int) -> SearchResult:
        t, cfg = self.tree, self.config
        visits, proven_child = t.edge_visits[:, 0], t.edge_proven[:, 0]
        root_visits, root_value = t.root["visits"], t.root["value"]
        value = np.where(root_visits > 0, -root_value / np.maximum(root_visits, 1),
                         0.0).astype(np.float32)
        if simulations == 0:  # the evaluator's own choice
            policy = t.prior[:, 0].copy()
            action = policy.argmax(axis=1)
        elif cfg.method == "gumbel":
            sigma, policy = root_gumbel_stats(t, cfg.gumbel_c_visit, cfg.gumbel_c_scale,
                                              cfg.solver)
            considered = gumbel_score > -np.inf
            most = np.where(considered, visits, -1).max(axis=1, keepdims=True)
            score = gumbel_score + sigma
            action = np.where(considered & (visits == most), score, -np.inf).argmax(axis=1)
        else:
            total = visits.sum(axis=1, keepdims=True)
            policy = (visits / np.maximum(total, 1)).astype(np.float32)
            action = visits.argmax(axis=1)
        if cfg.solver and simulations > 0:
            policy = policies.respect_proofs(policy, proven_child)
        wins = proven_child == 1
        action = np.where(wins.any(axis=1), wins.argmax(axis=1), action).astype(np.int64)
        root_proven = t.root["proven"]
        proven = np.where(root_proven == UNKNOWN, UNKNOWN, -root_proven).astype(np.int8)
        return SearchResult(visits.astype(np.int32), policy, value, action, proven)
