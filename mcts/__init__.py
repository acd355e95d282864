"""Batched Monte Carlo tree search over B games at once (numba), for any game in `games`.

    searcher = Searcher(game, evaluator, SearchConfig(simulations=200), batch=B)
    searcher.set_roots(states)            # [B, S] int64
    result = searcher.run()               # visits, policy target, value, action, proven
    searcher.advance(actions, next_states)  # tree reuse
"""
from mcts.evaluators import Evaluator, RolloutEvaluator, UniformEvaluator, uniform_priors
from mcts.policies import sample_actions
from mcts.search import Searcher, SearchConfig, SearchResult
from mcts.tree import UNKNOWN, tree_bytes

__all__ = ["Evaluator", "RolloutEvaluator", "UniformEvaluator", "uniform_priors",
           "sample_actions", "Searcher", "SearchConfig", "SearchResult", "UNKNOWN", "tree_bytes"]
