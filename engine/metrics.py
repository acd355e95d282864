"""Per-generation measures of what a loop learned and what it lost (the research kit):
strength against perfect play, policy entropy, the tails (moves of tiny probability), the KL
divergence from the first generation's policy, value calibration against exact values, and
the diversity of the self-play games (distinct openings, repeated games, lengths).

Pure functions over arrays, plus `Probe`: a fixed set of positions with exact values that
every generation's network is measured on (one forward pass)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

TINY = 0.01  # a move "in the tail": probability below this
OPENING_MOVES = 4  # an opening: a game's first moves


def entropy(probs: np.ndarray) -> np.ndarray:
    """[n] entropy in nats of each row of probs [n, A]."""
    p = np.clip(probs, 1e-12, 1.0)
    return -(probs * np.log(p)).sum(axis=1)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """[n] KL(p || q) in nats, row by row (q floored at 1e-12 where p has mass)."""
    return (p * (np.log(np.clip(p, 1e-12, 1)) - np.log(np.clip(q, 1e-12, 1)))).sum(axis=1)


def tail_share(probs: np.ndarray, masks: np.ndarray, tiny: float = TINY) -> float:
    """Share of the legal moves whose probability is below `tiny`."""
    return float(((probs < tiny) & masks).sum() / max(masks.sum(), 1))


def brier(values: np.ndarray, exact: np.ndarray) -> float:
    """Brier score of values in [-1, 1] as forecasts of exact results in {-1, 0, 1}, both
    mapped to [0, 1] (a draw counts half): 0 is perfect."""
    return float(np.mean(((values + 1) / 2 - (exact + 1) / 2) ** 2))


def calibration_slope(values: np.ndarray, exact: np.ndarray) -> float:
    """Least-squares slope of the predicted values on the exact results (never on training
    labels): 1 for a predictor of the exact result. A head trained on results flipped with
    probability p learns 1 - 2p times what a clean head learns from the same games, so its
    slope is 1 - 2p times the clean head's, which is itself below 1 when self-play's results
    differ from the exact ones."""
    exact = exact.astype(np.float64)
    spread = exact.var()
    return float(np.cov(values, exact, bias=True)[0, 1] / spread) if spread > 0 else float("nan")


def reliability(values: np.ndarray, exact: np.ndarray, bins: int = 10) -> list[list[float]]:
    """The reliability curve: [mean prediction, mean exact result, count] for each of `bins`
    equal-width bins of the predicted value over [-1, 1] (empty bins left out)."""
    which = np.clip(((values + 1) / 2 * bins).astype(int), 0, bins - 1)
    return [[float(values[which == k].mean()), float(exact[which == k].mean()),
             int((which == k).sum())] for k in range(bins) if (which == k).any()]


def game_diversity(games: list[np.ndarray], opening_moves: int = OPENING_MOVES) -> dict:
    """Diversity of a generation's games (each: its actions from the start): distinct openings
    (first opening_moves moves) per game, the openings' entropy (nats), the share of games
    whose opening no other game played (the rare ones, which go first in a collapse), and the
    repeat rate of whole games (1 - distinct games / games)."""
    openings = Counter(tuple(g[:opening_moves]) for g in games)
    counts = np.array(list(openings.values()), np.float64)
    share = counts / max(counts.sum(), 1)
    return {"distinct_openings": len(openings) / max(len(games), 1),
            "opening_entropy": float(-(share * np.log(share)).sum()),
            "rare_opening_share": float((counts == 1).sum() / max(len(games), 1)),
            "repeat_rate": 1 - len({tuple(g) for g in games}) / max(len(games), 1)}


@dataclass(frozen=True)
class Probe:
    """Fixed positions to measure networks on: `states` with their optimal moves (strength,
    entropy, tails, KL), and `value_states` with their exact values (calibration)."""

    states: np.ndarray  # [n, S] int64
    optimal: tuple  # n sets of optimal actions
    masks: np.ndarray  # [n, A] bool
    value_states: np.ndarray  # [m, S] int64, unfinished positions
    exact: np.ndarray  # [m] float64, each one's exact result for the mover (-1, 0, 1)


def measure(probe: Probe, evaluate, reference: np.ndarray | None = None, game=None,
            proxy=None) -> tuple[dict, np.ndarray]:
    """The probe's measures of one network (evaluate: states, masks -> priors, values), and its
    policy on probe.states; reference: a policy there to measure the KL divergence from;
    proxy (with game): a proxy critic (states -> [n] value for the mover) whose rating of the
    positions the policy's picks lead to is reported as proxy_score (Gao et al.'s proxy
    reward of the policy's outputs, beside `strength`, the gold one)."""
    probs, _ = evaluate(probe.states, probe.masks)
    _, values = evaluate(probe.value_states, np.ones((len(probe.value_states),
                                                      probe.masks.shape[1]), bool))
    picks = probs.argmax(axis=1)
    out = {"strength": float(np.mean([int(a) in ok for a, ok in zip(picks, probe.optimal)])),
           "policy_entropy_probe": float(entropy(probs).mean()),
           "tail_share": tail_share(probs, probe.masks),
           "value_brier": brier(values, probe.exact),
           "calibration_slope": calibration_slope(values, probe.exact),
           "reliability": reliability(values, probe.exact)}
    if reference is not None:
        out["kl_from_start"] = float(kl_divergence(probs, reference).mean())
    if proxy is not None:
        after = probe.states.copy()
        game.play(after, picks.astype(np.int64))
        out["proxy_score"] = float(-np.mean(proxy(after)))  # the mover's view, not the next's
    return out, probs
