"""Root policies: Dirichlet noise, Gumbel top-k with sequential halving, proofs, move choice."""
from __future__ import annotations

import functools

import numpy as np


def add_dirichlet_noise(prior: np.ndarray, legal: np.ndarray, alpha: float, fraction: float,
                        rng: np.random.Generator) -> np.ndarray:
    """Mix Dirichlet(alpha) noise over the legal actions into prior ([B, A]), AlphaZero's way."""
    noise = rng.gamma(alpha, size=prior.shape).astype(np.float32) * legal
    noise /= np.maximum(noise.sum(axis=1, keepdims=True), 1e-12)
    return ((1 - fraction) * prior + fraction * noise).astype(np.float32)


@functools.lru_cache(maxsize=None)
def considered_visits(num_considered: int, num_simulations: int) -> tuple[int, ...]:
    """Sequential halving's schedule: entry i is the visit count that the action chosen at
    simulation i has so far (Danihelka et al. 2022, Gumbel MuZero, section 3)."""
    if num_considered <= 1:
        return tuple(range(num_simulations))
    phases = int(np.ceil(np.log2(num_considered)))
    visits = [0] * num_considered
    schedule: list[int] = []
    considered = num_considered
    while len(schedule) < num_simulations:
        per_action = max(1, num_simulations // (phases * considered))
        for _ in range(per_action):
            schedule.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return tuple(schedule[:num_simulations])


def gumbel_setup(prior: np.ndarray, legal: np.ndarray, max_considered: int, simulations: int,
                 rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """Sample Gumbel noise and keep the top-k actions by g + logits; with no rng, g = 0 (for
    play that should be at its best rather than explore: the top-k by prior, and the final
    pick by logits + sigma(Q) alone, as Gumbel MuZero evaluates).

    Returns gumbel_score [B, A] float32 (g + log prior on the considered actions, -inf
    elsewhere) and visit_table [B, simulations] int32 from `considered_visits`.
    """
    batch, num_actions = prior.shape
    scores = np.log(prior + 1e-12)
    if rng is not None:
        scores = scores + rng.gumbel(size=prior.shape)
    scores = np.where(legal, scores, -np.inf)
    k = np.minimum(legal.sum(axis=1), max_considered)
    order = np.argsort(-scores, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(num_actions)[None].repeat(batch, 0), axis=1)
    gumbel_score = np.where(ranks < k[:, None], scores, -np.inf).astype(np.float32)
    table = np.array([considered_visits(int(n), max(simulations, 1)) for n in k], np.int32)
    return gumbel_score, table


def sample_actions(policy: np.ndarray, temperature: float | np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Draw one action per row from policy ** (1 / temperature); temperature 0 is argmax."""
    temperature = np.broadcast_to(np.asarray(temperature, np.float64), policy.shape[:1])
    actions = policy.argmax(axis=1)
    for i in np.flatnonzero((temperature > 0) & (policy.sum(axis=1) > 0)):
        weights = policy[i].astype(np.float64) ** (1.0 / temperature[i])
        actions[i] = rng.choice(policy.shape[1], p=weights / weights.sum())
    return actions


def respect_proofs(policy: np.ndarray, proven: np.ndarray) -> np.ndarray:
    """The search's policy ([B, A]) made to agree with the solver's proofs (proven: [B, A], each
    move's exact value for the player making it, or UNKNOWN): where a move is proven to win, the
    winning moves alone; else no move proven to lose, unless those are all it visited. Self-play
    trains on this: the exact critic's verdict, not the visits spent before the proof."""
    wins = proven == 1
    keep = np.where(wins.any(axis=1, keepdims=True), wins, proven != -1)
    kept = policy * keep
    total = kept.sum(axis=1, keepdims=True)
    return np.where(total > 0, kept / np.maximum(total, 1e-30), policy).astype(np.float32)
