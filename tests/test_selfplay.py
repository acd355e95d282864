"""Self-play's raw game records, and the alphazero learner's training targets."""
import dataclasses
import hashlib

import numpy as np
import pytest

import games
from engine.config import SelfPlayConfig
from engine.learners.alphazero import AlphaZero
from engine.selfplay import SelfPlayStream, play_games
from mcts import RolloutEvaluator, SearchConfig, UniformEvaluator

GAME = games.get("tictactoe")
SEARCH = SearchConfig(simulations=32)


def targets(value_target_search: float):
    cfg = SelfPlayConfig(games_in_parallel=8, games_per_generation=8, temperature_moves=9)
    records, _ = play_games(GAME, RolloutEvaluator(GAME, 1, seed=3), SEARCH, cfg, 8, seed=5)
    trajectories, _ = AlphaZero(value_target_search).label(records, None)
    return (np.concatenate([t.states for t in trajectories]),
            np.concatenate([t.values for t in trajectories]))


def test_value_targets_mix_the_game_result_with_the_search_value():
    states, result = targets(0.0)
    states_half, half = targets(0.5)
    states_search, search = targets(1.0)
    # the same seed plays the same games, whatever the label
    assert np.array_equal(states, states_half) and np.array_equal(states, states_search)
    assert set(np.unique(result)) <= {-1.0, 0.0, 1.0}
    assert np.all(np.abs(search) <= 1.0)
    assert not np.allclose(search, result)
    assert half == pytest.approx(0.5 * result + 0.5 * search, abs=1e-6)


def test_positions_with_a_winning_move_are_labelled_exact_wins_by_the_search():
    states, search = targets(1.0)
    wins = [v for s, v in zip(states, search) if _has_immediate_win(s)]
    assert wins and all(v == 1.0 for v in wins)


def _has_immediate_win(state) -> bool:
    masks = GAME.legal_masks(state[None])[0]
    for action in np.flatnonzero(masks):
        child = state[None].copy()
        GAME.play(child, np.array([action]))
        if GAME.outcomes(child)[0] == -1:  # the opponent, now to move, has lost
            return True
    return False


class CountingEvaluator:
    """Uniform priors and value 0, recording the batch size of every call."""

    def __init__(self):
        self.batches = []

    def __call__(self, states, masks):
        self.batches.append(len(states))
        return UniformEvaluator()(states, masks)


def test_a_stream_keeps_its_batch_full_and_carries_unfinished_games_over():
    cfg = SelfPlayConfig(games_in_parallel=16, temperature_moves=9)
    carried, exact = CountingEvaluator(), CountingEvaluator()
    stream = SelfPlayStream(GAME, carried, SEARCH, cfg, batch=16, seed=1)
    first, first_stats = stream.play(24)
    in_flight = [slot.policies[0] for slot in stream.slots if slot.moves > 0]
    second, second_stats = stream.play(24)
    assert first_stats.games == len(first) == 24 and second_stats.games == len(second) == 24
    # the second call finishes the games that the first one left running, with all their
    # positions
    assert in_flight
    openings = [t.policies[0] for t in second]
    assert all(any(np.array_equal(p, q) for q in openings) for p in in_flight)
    assert sum(len(r.actions) for r in second) == sum(second_stats.game_lengths)
    for record, trajectory in zip(first, AlphaZero(0.0).label(first, None)[0]):
        # whole games, from the start or a random opening, to their end ...
        replayed = record.states[:1].copy()
        for action in record.actions:
            GAME.play(replayed, np.array([action]))
        assert np.array_equal(replayed[0], record.final_state)
        assert GAME.outcome(record.final_state) != games.ONGOING
        # ... labelled with their results, from each mover's view
        first_player = record.movers == 0
        assert np.all(trajectory.values[first_player] == record.result)
        assert np.all(trajectory.values[~first_player] == -record.result)
    play_games(GAME, exact, SEARCH, cfg, 48, seed=1)
    assert np.mean(carried.batches) > np.mean(exact.batches)


def shared_quota(total):
    """The quota that the worker processes share, here for two streams in this process."""
    import multiprocessing as mp

    from engine.backends import SharedQuota

    return SharedQuota(mp.get_context("spawn").Value("q", 0), total)


def test_streams_sharing_a_quota_hand_out_exactly_its_games_and_keep_the_rest():
    cfg = SelfPlayConfig(games_in_parallel=8, temperature_moves=9)
    fast, slow = (SelfPlayStream(GAME, UniformEvaluator(), SEARCH, cfg, batch=8, seed=s)
                  for s in (1, 2))
    slow.play(3)  # games in flight
    in_flight = [slot.policies[0] for slot in slow.slots if slot.moves > 0]
    assert in_flight
    quota = shared_quota(12)
    first, _ = fast.play(12, quota=quota)  # one stream claims every game ...
    assert len(first) == 12 and quota.full()
    late, late_stats = slow.play(12, quota=quota)  # ... the other hands out none
    assert late == [] and late_stats.games == 0
    quota = shared_quota(20)
    second, _ = slow.play(20, quota=quota)  # and finishes its games in the next call
    assert len(second) == 20 and quota.claimed.value == 20
    openings = [t.policies[0] for t in second]
    assert all(any(np.array_equal(p, q) for q in openings) for p in in_flight)


# sha256 of the states, actions and policies of a stream's games (8 in flight, uniform priors,
# 16 simulations, seed 3) over calls of 5, 11 and 7 games, computed by the code from before the
# shared quota (commit 26c331b)
BEFORE_THE_QUOTA = (23, "58f1009ed99c87e53af696d833e5a1f9edb58d660045f62f69aa882705abc664")


def test_a_stream_on_its_own_plays_the_games_it_played_before_quotas():
    cfg = SelfPlayConfig(games_in_parallel=8, temperature_moves=9)
    stream = SelfPlayStream(GAME, UniformEvaluator(), SearchConfig(simulations=16), cfg,
                            batch=8, seed=3)
    digest, count = hashlib.sha256(), 0
    for n in (5, 11, 7):
        records, _ = stream.play(n)
        for record in records:
            count += 1
            for array in (record.states, record.actions, record.policies):
                digest.update(np.ascontiguousarray(array).tobytes())
    assert (count, digest.hexdigest()) == BEFORE_THE_QUOTA


def test_process_workers_share_a_generations_games_exactly():
    from engine.backends import ProcessSelfPlay
    from engine.config import load_config
    from engine.network import InferenceSettings, build_network

    config = load_config("tictactoe", overrides=["selfplay.games_in_parallel=4",
                                                 "search.simulations=4"])
    weights = build_network(GAME, config.network).state_dict()
    backend = ProcessSelfPlay(config, InferenceSettings(), workers=2)
    assert backend.shared  # carry_over (the default): the workers claim from one count
    try:
        for n in (6, 9):
            records, stats, evaluations = backend.play(weights, n, seed=0)
            assert len(records) == stats.games == n and evaluations > 0
    finally:
        backend.close()


class FirstPlayerLost:
    """Uniform priors; value -0.9 wherever the first player is to move, +0.9 for the second:
    the first player's searches see it lost."""

    def __call__(self, states, masks):
        priors, _ = UniformEvaluator()(states, masks)
        return priors, np.where(GAME.to_play(states) == 0, -0.9, 0.9).astype(np.float32)


def test_a_player_whose_value_falls_below_the_threshold_resigns_and_is_labelled_lost():
    cfg = SelfPlayConfig(games_in_parallel=8, resign_threshold=-0.5, resign_playthrough=0.0)
    records, stats = play_games(GAME, FirstPlayerLost(), SEARCH, cfg, 8, seed=0)
    assert stats.resigned == len(records) == 8
    for record in records:  # resigned after its first move, and lost
        assert record.resigned and len(record.actions) == 1 and record.result == -1.0
        assert GAME.outcome(record.final_state) == games.ONGOING
    for trajectory in AlphaZero(0.0).label(records, None)[0]:
        assert np.all(trajectory.values == -1.0)  # the resigner's positions: lost
    # without resignation no game ends before its result
    records, stats = play_games(GAME, FirstPlayerLost(), SEARCH,
                                dataclasses.replace(cfg, resign_threshold=-1.0), 8, seed=0)
    assert stats.resigned == 0 and not any(r.resigned for r in records)
    # games played through to check the threshold: none resigned, each would-be resignation
    # that the first player did not lose counted false
    records, stats = play_games(GAME, FirstPlayerLost(), SEARCH,
                                dataclasses.replace(cfg, resign_playthrough=1.0), 8, seed=0)
    assert stats.resigned == 0 and stats.playthroughs == 8
    assert all(GAME.outcome(r.final_state) != games.ONGOING for r in records)
    assert stats.false_resigns == sum(r.result != -1.0 for r in records)


def test_a_playout_cap_searches_the_other_moves_fast_and_trains_on_full_ones_only():
    search = dataclasses.replace(SEARCH, reuse_tree=False)  # each move's visits its own
    cfg = SelfPlayConfig(games_in_parallel=8, temperature_moves=9, playout_cap_fraction=0.25,
                         fast_simulations=2)
    stream = SelfPlayStream(GAME, UniformEvaluator(), search, cfg, batch=8, seed=4)
    records, stats = stream.play(32, carry_over=False)  # a draw per step, for the batch
    full = np.concatenate([r.full for r in records])
    assert 0 < full.sum() < 0.6 * len(full)  # about a quarter of the moves searched fully
    assert stats.moves == len(full) and stats.positions == full.sum()
    policies = np.concatenate([r.policies for r in records])
    visited = (policies > 0).sum(axis=1)
    assert visited[~full].max() <= 2 < visited[full].max()  # 2 simulations, or 32
    trajectories, _ = AlphaZero(0.0).label(records, None)
    assert sum(len(t.values) for t in trajectories) == full.sum()
    assert np.array_equal(np.concatenate([t.policies for t in trajectories]), policies[full])
    assert stream.searcher.config is search  # the fast searches changed no shared setting


def stones(state) -> int:
    planes = np.zeros((1, *GAME.planes), np.float32)
    GAME.encode(state[None], planes)
    return int(planes[0, :2].sum())  # the mover's and the opponent's stones


def test_random_openings_start_games_after_up_to_k_random_moves():
    def opening_stones(k):
        cfg = SelfPlayConfig(games_in_parallel=16, temperature_moves=9, random_opening_moves=k)
        trajectories, _ = play_games(GAME, UniformEvaluator(), SearchConfig(simulations=8), cfg,
                                     48, seed=2)
        return {stones(t.states[0]) for t in trajectories}
    assert opening_stones(0) == {0}
    assert opening_stones(3) == {0, 1, 2, 3}


def test_a_worker_that_cannot_start_fails_the_call_with_its_reason():
    """A pool restarts a worker whose initializer raises, forever; ours reports the error."""
    from engine.backends import ProcessSelfPlay
    from engine.config import load_config
    from engine.network import InferenceSettings

    config = load_config("tictactoe", overrides=["selfplay.games_in_parallel=2"])
    backend = ProcessSelfPlay(config, InferenceSettings(device="cuda:7"), workers=2)
    try:
        with pytest.raises(RuntimeError, match="self-play worker could not start"):
            backend.play({}, 2, seed=0)
    finally:
        backend.close()
