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
