"""Self-play: B games at once through the batched search; the game result labels every position."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.config import SelfPlayConfig
from games import ONGOING, Game
from mcts import UNKNOWN, Searcher, SearchConfig, sample_actions


@dataclass
class Trajectory:
    """Training positions of one finished game."""

    states: np.ndarray  # [T, S] int64, positions where a full search was made
    policies: np.ndarray  # [T, A] float32, the search's policy target
    values: np.ndarray  # [T] float32, value target from each position's mover view


@dataclass
class SelfPlayStats:
    games: int = 0
    moves: int = 0
    positions: int = 0
    first_player_score: float = 0.0  # mean of (1 win, 0.5 draw, 0 loss) for the first player
    resigned: int = 0
    false_resigns: int = 0  # played-out would-resign games that the resigning side did not lose
    playthroughs: int = 0
    game_lengths: list = field(default_factory=list)


@dataclass
class _Slot:
    states: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    movers: list = field(default_factory=list)
    root_values: list = field(default_factory=list)  # the search's value, exact where proven
    moves: int = 0
    would_resign: int = -1  # the player who would have resigned, or -1
    playthrough: bool = False


def play_games(game: Game, evaluate, search: SearchConfig, cfg: SelfPlayConfig, num_games: int,
               seed: int) -> tuple[list[Trajectory], SelfPlayStats]:
    """Play num_games self-play games, cfg.games_in_parallel at a time."""
    rng = np.random.default_rng(seed)
    batch = min(cfg.games_in_parallel, num_games)
    searcher = Searcher(game, evaluate, search, batch, seed=seed)
    fast = SearchConfig(**{**search.__dict__, "simulations": cfg.fast_simulations})
    states = game.new_states(batch)
    searcher.set_roots(states)
    slots = [_Slot(playthrough=rng.random() < cfg.resign_playthrough) for _ in range(batch)]
    active = np.ones(batch, bool)
    started, trajectories, stats = batch, [], SelfPlayStats()
    while active.any():
        full = cfg.playout_cap_fraction <= 0 or rng.random() < cfg.playout_cap_fraction
        searcher.config = search if full else fast
        result = searcher.run(add_noise=full)
        temperature = np.array([1.0 if s.moves < cfg.temperature_moves else 0.0 for s in slots])
        actions = result.action.copy()
        if search.method == "puct" and full:
            sampled = sample_actions(result.policy, temperature, rng)
            actions = np.where((temperature > 0) & (result.proven == UNKNOWN), sampled, actions)
        movers = game.to_play(states)
        for b in np.flatnonzero(active):
            slot = slots[b]
            if full:
                slot.states.append(states[b].copy())
                slot.policies.append(result.policy[b].copy())
                slot.movers.append(movers[b])
                slot.root_values.append(result.value[b] if result.proven[b] == UNKNOWN
                                        else result.proven[b])
            if slot.would_resign < 0 and result.value[b] < cfg.resign_threshold:
                slot.would_resign = movers[b]
            slot.moves += 1
        _play_active(game, states, actions, active)
        outcomes = game.outcomes(states)
        resigning = np.array([s.would_resign >= 0 and not s.playthrough for s in slots])
        over = active & ((outcomes != ONGOING) | resigning)
        finished_rows = np.flatnonzero(over)
        for b in finished_rows:
            trajectories.append(_finish(game, slots[b], states[b], outcomes[b],
                                        cfg.value_target_search, stats))
            if started < num_games:
                states[b] = game.new_states(1)[0]
                slots[b] = _Slot(playthrough=rng.random() < cfg.resign_playthrough)
                started += 1
            else:
                active[b] = False
        searcher.config = search
        searcher.advance(actions, states)
        if len(finished_rows):
            searcher.set_roots(states[finished_rows], finished_rows)
    return trajectories, stats


def _play_active(game: Game, states, actions, active):
    """Play actions in the rows of unfinished games only."""
    rows = np.flatnonzero(active)
    sub = states[rows]
    game.play(sub, actions[rows])
    states[rows] = sub


def _finish(game: Game, slot: _Slot, state, outcome, search_weight: float,
            stats: SelfPlayStats) -> Trajectory:
    """Label the game's positions with its result (mixed with the search's own values by
    search_weight) and update the statistics."""
    mover_at_end = game.player(state)
    if outcome == ONGOING:  # resigned: the player who would resign loses
        stats.resigned += 1
        winner_view = -1.0 if slot.would_resign == mover_at_end else 1.0
    else:
        winner_view = float(outcome)  # result for the player to move at the end
        if slot.playthrough and slot.would_resign >= 0:
            stats.playthroughs += 1
            loser = mover_at_end if outcome == -1 else 1 - mover_at_end if outcome == 1 else -1
            stats.false_resigns += int(loser != slot.would_resign)
    movers = np.array(slot.movers, np.int64)
    values = np.where(movers == mover_at_end, winner_view, -winner_view)
    values = ((1 - search_weight) * values
              + search_weight * np.array(slot.root_values, np.float64)).astype(np.float32)
    first = 0.5 if winner_view == 0 else float((mover_at_end == 0) == (winner_view > 0))
    stats.first_player_score += (first - stats.first_player_score) / (stats.games + 1)
    stats.games += 1
    stats.moves += slot.moves
    stats.positions += len(movers)
    stats.game_lengths.append(slot.moves)
    return Trajectory(np.array(slot.states, np.int64).reshape(-1, game.state_size),
                      np.array(slot.policies, np.float32).reshape(-1, game.num_actions), values)
