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
