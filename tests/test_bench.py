"""The network-side benchmarks run and report sane records (their figures live in docs/)."""
import numpy as np

import games
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
    assert [row["layout"] for row in result.rows][:2] == ["contiguous", "channels_last"]
    assert len(result.rows) in (2, 4) and result.rows[0]["precision"] == "fp32"
    assert all(row["samples/s"] > 0 and row["steps/s"] > 0 for row in result.rows)


def test_search_benchmark_compares_each_row_with_openspiel_beside_it():
    import pytest
    pytest.importorskip("pyspiel")
    result = bench.bench_search(bench.Settings(
        search_positions=4, search_simulations=50, search_batches=(4,), search_repeats=1,
        long_simulations=500, long_positions=2, long_rounds=1))
    rows = {r["search"]: r for r in result.rows}
    ours = [r for r in result.rows if r["search"] == "ours, 1 rollout/leaf"]
    assert len(ours) == 4 and {r["batch"] for r in ours} == {1, 4}  # batch 1 beside batch 4
    assert all(r["vs OpenSpiel PUCT"] > 0 and r["vs OpenSpiel UCT"] > 0 for r in ours)
    for name in ("OpenSpiel MCTSBot PUCT, 1 rollout/leaf", "OpenSpiel MCTSBot UCT, 1 rollout/leaf",
                 "OpenSpiel MCTSBot PUCT, long search"):
        assert rows[name]["sims/s"] > 0
    long = rows["ours, long search"]
    assert (long["simulations"], long["batch"], long["vs OpenSpiel UCT"]) == (500, 2, "-")
    assert long["vs OpenSpiel PUCT"] > 0
    # walks go deeper with 10x the simulations, in both engines; a rollout from a leaf of a
    # Connect Four position lasts at least one move and at most the board's 42
    assert long["leaf depth"] > ours[0]["leaf depth"] > 1
    assert rows["OpenSpiel MCTSBot PUCT, long search"]["leaf depth"] > \
        rows["OpenSpiel MCTSBot PUCT, 1 rollout/leaf"]["leaf depth"] > 1
    assert all(1 <= r["rollout moves"] <= 42 for r in ours)
    assert "1 rounds per row" in " ".join(result.notes)


def test_leaf_profile_measures_depth_and_rollout_length_exactly():
    """Tic-tac-toe after 8 moves has one empty cell: a rollout from the root lasts one move; its
    one child is the search's only node, at depth 1, and the game has ended there."""
    game = games.get("tictactoe")
    full = game.position(game.format_moves([0, 1, 2, 4, 3, 5, 7, 6]))
    assert list(bench.playout_lengths(game, full[None], np.random.default_rng(0))) == [1]
    ours, leaves, _ = bench._our_search(game, full[None], bench.RolloutEvaluator(game, 1, 0),
                                        bench.SearchConfig(simulations=5, solver=False), 1, 0)
    depths, states = leaves()
    assert set(depths.tolist()) == {1}
    depth, moves, rollout_us = bench.leaf_profile(leaves, game, 0)
    assert (depth, moves) == (1.0, 0.0) and rollout_us >= 0


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
    ours, peer_rate, ratio, repeat = bench.paired_rates(work(1.0), work(3.0), rounds=7)
    assert ratio == 3.0 and repeat == 3  # ours runs 3 times a pass to last as long as the peer
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
        best = bench.machine_limit(_fake_measure((fast, 1000.0)), bench.core_splits(2), 64, 0.1,
                                   1.0)
        assert (best["processes"], best["threads"], best["precision"] == "bf16",
                best["layout"] == "channels_last") == fast
        assert best["positions/s"] == 1000.0
    # with no setting standing out, the split that runs the most processes at once wins
    best = bench.machine_limit(_fake_measure((None, 0.0)), bench.core_splits(2), 64, 0.1, 1.0)
    assert (best["processes"], best["positions/s"]) == (2, 200.0)


def test_the_machine_limit_is_the_best_settings_long_measurement_not_a_lucky_burst():
    """A setting that reads 1,000/s in a short try and 150/s when measured for long (a burst on
    a drifting machine) is found best, but its rate is the long measurement's."""
    def measure(processes, batch, settings, seconds):
        lucky = (processes, settings.threads, settings.bf16, settings.channels_last) == \
            (1, 2, False, True)
        return (1000.0 if seconds < 1 else 150.0) if lucky else 100.0 * processes
    best = bench.machine_limit(measure, bench.core_splits(2), 64, 0.1, 3.0)
    assert (best["processes"], best["threads"], best["positions/s"]) == (1, 2, 150.0)


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
        return bench.machine_limit(measure, [(1, 1)], 8, 1.0, 1.0)["positions/s"]
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


# ---- the trainer's precision, chosen by measurement -------------------------------------------

def _choose(monkeypatch, fp32_rate, bf16_rate, tolerance=0.02):
    import games
    from engine import trainer
    from engine.config import load_config
    from engine.network import build_network

    monkeypatch.setattr(trainer, "_cpu_has_bf16", lambda: True)
    monkeypatch.setattr(trainer, "_steps_per_s", lambda net, cfg, batch, bf16, steps, budget=0:
                        bf16_rate if bf16 else fp32_rate)
    game, cfg = games.get("tictactoe"), load_config("tictactoe")
    net = build_network(game, cfg.network)
    return trainer.choose_training(net, game.planes, game.num_actions, cfg.trainer,
                                   tolerance=tolerance)


def test_the_trainer_takes_bf16_only_where_it_is_faster_and_its_loss_agrees(monkeypatch):
    faster = _choose(monkeypatch, 10.0, 20.0)
    assert faster.bf16 and abs(faster.bf16_loss - faster.fp32_loss) <= 0.02 * faster.fp32_loss
    slower = _choose(monkeypatch, 20.0, 10.0)
    assert not slower.bf16 and slower.bf16_loss is None
    disagrees = _choose(monkeypatch, 10.0, 20.0, tolerance=0.0)  # bf16 rounds: never equal
    assert not disagrees.bf16 and disagrees.bf16_loss != disagrees.fp32_loss
    assert "fp32" in disagrees.describe() and "loss on a fixed batch" in disagrees.describe()


def test_choose_training_touches_neither_the_net_nor_torchs_generator():
    import torch

    import games
    from engine.config import load_config
    from engine.network import build_network
    from engine.trainer import choose_training

    game, cfg = games.get("tictactoe"), load_config("tictactoe")
    net = build_network(game, cfg.network)
    before, generator = {k: v.clone() for k, v in net.state_dict().items()}, torch.get_rng_state()
    chosen = choose_training(net, game.planes, game.num_actions, cfg.trainer, steps=1)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert torch.equal(generator, torch.get_rng_state())
    assert chosen.describe().startswith("bf16" if chosen.bf16 else "fp32")


def test_training_under_bf16_autocast_runs_and_fp32_is_unchanged():
    import numpy as np
    import torch

    import games
    from engine.config import load_config
    from engine.network import build_network
    from engine.trainer import _fixed_batch, _step, make_optimizer

    game, cfg = games.get("tictactoe"), load_config("tictactoe")
    results = []
    for bf16 in (False, False, True):
        torch.manual_seed(0)
        net = build_network(game, cfg.network).train()
        batch = _fixed_batch(net, game.planes, game.num_actions, 16, False)
        losses = _step(net, make_optimizer(net, cfg.trainer), *batch, cfg.trainer.value_weight,
                       bf16)
        results.append((losses, next(net.parameters()).detach().clone()))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    assert np.isfinite(results[2][0].numpy()).all()
    assert torch.allclose(results[2][0], results[0][0], rtol=0.05)


def test_torch_threads_wait_passively_unless_the_user_says_otherwise():
    import subprocess
    import sys

    code = "import engine.network, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "ACTIVE"


def test_tree_cost_is_a_simulations_time_less_its_rollout_per_level():
    # 1M simulations/s = 1,000 ns each; a 0.5 us rollout leaves 500 ns over 5 levels
    assert bench.tree_cost(1e6, 5.0, 0.5) == 100.0
    assert bench.tree_cost(2e6, 4.0, 0.0) == 125.0


def test_bench_game_option_sets_the_search_and_network_games_too():
    """--game G: every benchmark measures G; several: rules and compile each, the rest the first."""
    from engine import cli

    def settings(*argv):
        return cli.bench_settings(cli.build_parser().parse_args(["bench", *argv]))
    one = settings("search", "memory", "--game", "go9")
    assert (one.games, one.search_game, one.net_game) == (("go9",), "go9", "go9")
    two = settings("--game", "othello", "--game", "tictactoe")
    assert (two.games, two.search_game, two.net_game) == (("othello", "tictactoe"), "othello",
                                                           "othello")
    default = settings()
    assert (default.search_game, default.net_game) == ("connect4", "connect4")
    rounds = settings("selfplay", "--rounds", "9")
    assert (rounds.selfplay_rounds, rounds.search_repeats, rounds.long_rounds) == (9, 9, 9)
    assert (default.selfplay_rounds, default.search_repeats) == (5, 7)
    assert bench.memory_sizes(settings("memory", "--game", "go9")) == (128, 64)  # go9.toml
    sized = settings("memory", "--memory-games", "256", "--memory-simulations", "800")
    assert bench.memory_sizes(sized) == (256, 800)


def test_the_network_evaluator_times_its_forward_passes_apart_from_encoding(monkeypatch):
    """A forward pass of 20 ms behind an encoding of 50 ms: forward_seconds holds the first."""
    import time
    from types import SimpleNamespace

    import torch

    from engine.network import NetworkEvaluator

    game, _, net = bench._default_net(bench.Settings(net_game="tictactoe"))
    forward = net.forward

    def slow_forward(x):
        time.sleep(0.02)
        return forward(x)

    def slow_encode(states, planes):
        time.sleep(0.05)
        game.encode(states, planes)

    monkeypatch.setattr(net, "forward", slow_forward)
    monkeypatch.setattr("engine.network.folded", lambda net: net)  # keep the slow forward
    evaluator = NetworkEvaluator(net, SimpleNamespace(encode=slow_encode, planes=game.planes))
    states = game.new_states(3)
    with torch.inference_mode():
        evaluator(states, game.legal_masks(states))
    assert 0.02 <= evaluator.forward_seconds < 0.05
