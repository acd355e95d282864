"""The network-side benchmarks run and report sane records (their figures live in docs/)."""
from engine import bench


def test_memory_benchmark_reports_a_peak_that_does_not_grow_move_by_move():
    settings = bench.Settings(net_game="tictactoe", memory_batch=16, memory_simulations=64,
                              memory_moves=3)
    result = bench.bench_memory(settings)
    resident = {row["when"]: row["resident MiB"] for row in result.rows}
    assert resident["peak"] >= max(resident.values()) - 1e-9
    assert resident["trees allocated"] >= resident["before the search"]
    # trees are recycled: later moves allocate nothing of note
    assert abs(resident["after move 3"] - resident["after move 1"]) < 8
    assert "KiB per game" in result.notes[1]


def test_train_benchmark_times_both_memory_formats():
    result = bench.bench_train(bench.Settings(net_game="tictactoe", train_steps=3))
    assert [row["layout"] for row in result.rows] == ["contiguous", "channels_last"]
    assert all(row["samples/s"] > 0 and row["steps/s"] > 0 for row in result.rows)


def test_search_benchmark_compares_each_row_with_openspiel_beside_it():
    import pytest
    pytest.importorskip("pyspiel")
    result = bench.bench_search(bench.Settings(search_positions=4, search_simulations=50,
                                               search_batches=(4,), search_repeats=1))
    peer_row = [r for r in result.rows if r["search"].startswith("OpenSpiel")]
    ours = [r for r in result.rows if r["search"] == "ours, 1 rollout/leaf"]
    assert len(peer_row) == 1 and len(ours) == 4
    assert all(r["vs OpenSpiel"] > 0 for r in ours)
    assert "1 rounds per row" in " ".join(result.notes)


def test_paired_rates_take_the_median_of_ratios_measured_back_to_back(monkeypatch):
    """The machine slows down 4x halfway: rates mix both speeds, each round's ratio does not."""
    clock = {"now": 0.0, "calls": 0}
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock["now"])

    def work(seconds):
        def run():
            clock["calls"] += 1
            # from the 10th pass on, between the peer's pass and ours in one round: a ratio of
            # the medians would be 0.75
            clock["now"] += seconds * (4 if clock["calls"] > 9 else 1)
        return run
    ours, peer_rate, ratio = bench.paired_rates(work(1.0), work(3.0), rounds=7)
    assert ratio == 3.0
    assert peer_rate in (1 / 3.0, 1 / 12.0) and ours in (1.0, 0.25)


# ---- the self-play ratio against the whole machine's bare inference ----------------------------

def test_core_splits_cover_every_split_of_the_cores():
    assert bench.core_splits(1) == [(1, 1)]
    assert bench.core_splits(2) == [(1, 1), (1, 2), (2, 1)]
    assert bench.core_splits(4) == [(1, 1), (1, 4), (2, 2), (4, 1)]


def _fake_measure(fast):
    """A bare-inference measurement whose rate is 100/s per process, `fast` for one setting."""
    def measure(processes, batch, settings, seconds):
        key = (processes, settings.threads, settings.bf16, settings.channels_last)
        return fast[1] if key == fast[0] else 100.0 * processes
    return measure


def test_the_machine_limit_is_the_fastest_setting_not_a_slow_one():
    for fast in ((2, 1, True, True), (1, 2, False, False), (1, 1, True, False)):
        best = bench.machine_limit(_fake_measure((fast, 1000.0)), bench.core_splits(2), 64, 0.1)
        assert (best["processes"], best["threads"], best["precision"] == "bf16",
                best["layout"] == "channels_last") == fast
        assert best["positions/s"] == 1000.0
    # with no setting standing out, the split that runs the most processes at once wins
    best = bench.machine_limit(_fake_measure((None, 0.0)), bench.core_splits(2), 64, 0.1)
    assert (best["processes"], best["positions/s"]) == (2, 200.0)


class _Clock:
    """A fake perf_counter that only evaluations advance: the tree's work costs nothing."""
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class _FakeEvaluator:
    def __init__(self, clock, seconds_per_position):
        self.clock, self.cost, self.positions = clock, seconds_per_position, 0

    def __call__(self, states, masks):
        import numpy as np
        self.clock.now += self.cost * len(states)
        self.positions += len(states)
        return masks / masks.sum(axis=1, keepdims=True), np.zeros(len(states), np.float32)


def _ratio_with(clock, bare_cost, selfplay_cost):
    """The self-play row's ratio when self-play's evaluator costs selfplay_cost per position and
    the bare measurement's costs bare_cost (tic-tac-toe, real self-play, fake clock)."""
    import numpy as np

    from engine.config import load_config
    from engine.selfplay import play_games
    import games

    game = games.get("tictactoe")
    cfg = load_config("tictactoe", overrides=["search.simulations=8",
                                              "selfplay.games_in_parallel=8"])
    inside = _FakeEvaluator(clock, selfplay_cost)

    class Backend:
        def play(self, weights, num_games, seed):
            before = inside.positions
            records, stats = play_games(game, inside, cfg.search, cfg.selfplay, num_games, seed)
            return records, stats, inside.positions - before

    def measure(processes, batch, settings, seconds):  # bare: the same call, no search around it
        bare, states = _FakeEvaluator(clock, bare_cost), game.new_states(batch)
        masks, start = game.legal_masks(states), clock()
        while clock() - start < seconds:
            bare(states, masks)
        return processes * bare.positions / (clock() - start)

    def limit():
        return bench.machine_limit(measure, [(1, 1)], 8, 1.0)["positions/s"]
    row = bench.selfplay_row(Backend(), None, limit,
                             bench.Settings(selfplay_games=8, selfplay_rounds=3))
    assert row["games/s"] > 0 and np.isfinite(row["moves/s"])
    return row["ratio to bare inference"]


def test_an_evaluator_slower_inside_self_play_lowers_the_ratio(monkeypatch):
    import pytest

    clock = _Clock()
    monkeypatch.setattr(bench.time, "perf_counter", clock)
    same = _ratio_with(clock, 1e-4, 1e-4)
    slower = _ratio_with(clock, 1e-4, 2e-4)
    assert same == pytest.approx(1.0)
    assert slower == pytest.approx(0.5) and slower < same


def test_selfplay_benchmark_reports_the_best_bare_setting_not_the_start_up_one():
    """A fake machine whose 2-process bf16 channels-last inference is far faster than anything
    choose_inference tries in one process: the limit and the ratio are taken against it."""
    import os

    fast = 1e9
    settings = bench.Settings(net_game="tictactoe", selfplay_games=256, selfplay_rounds=1,
                              selfplay_simulations=4)
    cores = len(os.sched_getaffinity(0))
    result = bench.bench_selfplay(settings, _fake_measure(((cores, 1, True, True), fast)))
    assert [r["processes"] for r in result.rows] == sorted({1, cores})
    for row in result.rows:
        assert row["bare limit/s"] == fast
        assert 0 < row["ratio to bare inference"] == row["evaluations/s"] / fast
    assert f"{cores} x 1 threads, bf16, channels_last" in result.notes[2]


def test_bare_inference_sums_processes_that_measure_at_once():
    import torch

    from engine.network import InferenceSettings

    game, cfg, net = bench._default_net(bench.Settings(net_game="tictactoe"))
    bare = bench.BareInference("tictactoe", net.state_dict(), [2])
    try:
        rate = bare(2, 16, InferenceSettings(threads=1), 0.05)
    finally:
        bare.close()
    assert rate > 0 and torch.get_num_threads() >= 1


def test_loop_benchmark_reports_the_whole_generation_beside_its_parts():
    settings = bench.Settings(net_game="tictactoe", loop_generations=2, loop_overrides=(
        "search.simulations=4", "selfplay.games_in_parallel=8", "selfplay.games_per_generation=8",
        "trainer.steps_per_generation=2", "trainer.batch_size=16", "pipeline.workers=1",
        "pipeline.threads=1", "arena.rating_games=2", "arena.anchor_rollouts=2"))
    result = bench.bench_loop(settings)
    assert [r["generation"] for r in result.rows] == [1, 2]
    for row in result.rows:
        assert row["games/s"] > 0 and row["positions trained/s"] > 0
        assert row["samples trained/s"] == 2 * 16 / row["seconds"]
        assert row["self-play s"] + row["train s"] + row["gate s"] <= row["seconds"] + 1e-6
    assert "positions trained/s" in result.notes[1]
