"""Self-play on Ray (engine/ray_backend.py): a run on a Ray cluster matches one on the processes
backend and resumes on either; an actor killed, or a node lost, mid-run costs only its games in
flight; bad backend settings are refused before anything is written.

The Ray tests skip without the extra (zeroplay[ray]) and share one cluster, started once (Ray
starts slowly on a small machine) and shut down after them: a head node of 2 CPUs
(ray.cluster_utils.Cluster), which the node test grows by a second node and then loses.
"""
import importlib.util
import json

import pytest
import torch

import games
from engine.backends import check_backend
from engine.cli import main
from engine.config import ConfigError, load_config
from engine.pipeline import Pipeline, RunError
from faults import check_run_dir
from test_pipeline import TINY

GENERATIONS, GAMES = 2, 16  # TINY plays 16 games a generation
# a node that stops answering is declared dead after about 5 s, not 30
HEALTH_CHECKS = {"health_check_period_ms": 1000, "health_check_failure_threshold": 5}


def config(backend: str, *extra):
    return load_config("tictactoe", overrides=[
        *TINY, f"pipeline.backend={backend}", "pipeline.workers=2",
        f"pipeline.generations={GENERATIONS}", *extra])


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "include_dashboard": False, "_system_config": HEALTH_CHECKS})
    ray.init(address=cluster.address, logging_level="ERROR")
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def during_generation(monkeypatch, generation: int, action) -> list:
    """Run action(backend) once, as soon as the Ray backend has sent out every job of its
    `generation`-th self-play call; the returned list holds action's result once it ran."""
    from engine.ray_backend import RaySelfPlay

    submit, sent, fired = RaySelfPlay._submit, [0], []

    def submitting(self, *args):
        ref = submit(self, *args)
        sent[0] += 1
        if sent[0] == self.workers * generation and not fired:
            fired.append(action(self))
        return ref

    monkeypatch.setattr(RaySelfPlay, "_submit", submitting)
    return fired


def files(run_dir) -> list[str]:
    """The run directory's files (TensorBoard's, named by time and host, counted)."""
    return sorted("tb/events" if p.parent.name == "tb" else str(p.relative_to(run_dir))
                  for p in run_dir.rglob("*") if p.is_file())


def metrics(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def check_complete(run_dir, generations: int = GENERATIONS) -> list[dict]:
    """Check that a run holds all its generations' games and loadable files; its metrics."""
    state = check_run_dir(run_dir)
    assert (state.generation, state.games, state.replay_shards) == (
        generations, generations * GAMES, generations)
    records = metrics(run_dir)
    assert [r["generation"] for r in records] == list(range(1, generations + 1))
    return records


# ---- bad settings: refused before the run starts, with or without Ray -----------------------

def test_an_unknown_backend_or_address_is_a_config_error():
    with pytest.raises(ConfigError, match="pipeline.backend must be one of processes, local, ray"):
        config("cluster")
    with pytest.raises(ConfigError, match="pipeline.ray_address must be HOST:PORT, or empty"):
        config("ray", "pipeline.ray_address='http://head'")


def test_ray_without_the_extra_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else find_spec(name, *a))
    needs = r'pipeline.backend = ray needs ray, not installed: pip install "zeroplay\[ray\]"'
    with pytest.raises(ValueError, match=needs):
        Pipeline(config("ray"), tmp_path / "run", quiet=True).run()
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs the ray extra")
def test_an_unreachable_cluster_is_one_line_and_nothing_is_written(tmp_path, capsys):
    run_dir = tmp_path / "run"
    status = main(["train", "--game", "tictactoe", "--run-dir", str(run_dir),
                   "--set", "pipeline.backend=ray", "--set", "pipeline.ray_address=127.0.0.1:1"])
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "no Ray cluster answers at 127.0.0.1:1" in err and "Traceback" not in err
    assert not run_dir.exists()


def test_other_backends_need_no_check():
    check_backend(config("processes", "pipeline.ray_address=127.0.0.1:1"))


# ---- the weights' checksum -------------------------------------------------------------------

def test_weights_that_arrive_damaged_are_refused():
    pytest.importorskip("ray")
    from engine.network import build_network
    from engine.ray_backend import SelfPlayActor, weights_checksum

    cfg = config("ray")
    weights = build_network(games.get("tictactoe"), cfg.network).state_dict()
    checksum = weights_checksum(weights)
    damaged = {k: v.clone() for k, v in weights.items()}
    next(t for t in damaged.values() if t.is_floating_point()).view(-1)[0] += 1e-6
    assert weights_checksum(damaged) != checksum
    assert weights_checksum({k: v.clone() for k, v in weights.items()}) == checksum
    threads = torch.get_num_threads()
    try:
        actor = SelfPlayActor(cfg, 1, "cpu")  # in this process: it sets torch's threads
        with pytest.raises(RuntimeError, match="arrived damaged"):
            actor.play(damaged, checksum, 1, 0)
        records, stats, _ = actor.play(weights, checksum, 2, 0)
    finally:
        torch.set_num_threads(threads)
    assert len(records) == stats.games == 2


# ---- runs on the cluster ---------------------------------------------------------------------

def test_actors_the_cluster_cannot_hold_are_refused(cluster):
    from engine.ray_backend import RaySelfPlay

    with pytest.raises(RunError, match="ray_actor_gpus = 1, but the Ray cluster has 0 GPUs"):
        RaySelfPlay(config("ray", "pipeline.ray_actor_gpus=1"), print)


def test_a_ray_run_matches_a_processes_run_and_either_resumes_the_other(cluster, tmp_path):
    dirs = {backend: tmp_path / backend for backend in ("ray", "processes")}
    for backend, run_dir in dirs.items():
        Pipeline(config(backend), run_dir, quiet=True).run()
    assert files(dirs["ray"]) == files(dirs["processes"])
    records = {backend: check_complete(run_dir) for backend, run_dir in dirs.items()}
    assert [sorted(r) for r in records["ray"]] == [sorted(r) for r in records["processes"]]
    assert all(r["selfplay_restarts"] == 0 for rs in records.values() for r in rs)
    for backend, other in (("ray", "processes"), ("processes", "ray")):
        more = config(other, f"pipeline.generations={GENERATIONS + 1}")
        Pipeline(more, dirs[backend], quiet=True).run()
        check_complete(dirs[backend], GENERATIONS + 1)


def test_an_actor_killed_mid_run_costs_only_its_games_in_flight(cluster, tmp_path, monkeypatch,
                                                               capsys):
    import ray

    fired = during_generation(monkeypatch, 2, lambda backend: ray.kill(backend.actors[0]))
    Pipeline(config("ray"), tmp_path / "run").run()
    assert fired
    assert ("self-play actor 0 died, restarted (its 8 games of this generation are played "
            "again): The actor is dead because it was killed by `ray.kill`."
            in capsys.readouterr().err)
    assert [r["selfplay_restarts"] for r in check_complete(tmp_path / "run")] == [0, 1]


@pytest.mark.slow
def test_a_node_lost_mid_run_costs_only_its_games_in_flight(cluster, tmp_path, monkeypatch,
                                                            capsys):
    node = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    placed = set()

    def lose_node(backend):
        placed.update(place["node"] for place in backend.placements)
        cluster.remove_node(node, allow_graceful=False)  # as a machine that crashes

    try:
        fired = during_generation(monkeypatch, 2, lose_node)
        Pipeline(config("ray"), tmp_path / "run").run()
    finally:
        if node in cluster.worker_nodes:
            cluster.remove_node(node)
    assert fired and node.node_id in placed and len(placed) == 2  # an actor on each node
    assert "died" in capsys.readouterr().err
    restarts = [r["selfplay_restarts"] for r in check_complete(tmp_path / "run")]
    assert restarts[0] == 0 and restarts[1] >= 1


@pytest.mark.slow
def test_bench_selfplay_puts_ray_actors_beside_the_processes(cluster):
    import os

    from engine import bench
    from test_bench import _fake_measure

    cores = len(os.sched_getaffinity(0))
    settings = bench.Settings(net_game="tictactoe", selfplay_games=16, selfplay_rounds=1,
                              selfplay_simulations=4, backend="ray")
    result = bench.bench_selfplay(settings, _fake_measure(((cores, 1, False, False), 1e9)))
    assert [(r["backend"], r["processes"]) for r in result.rows] == [
        ("processes", w) for w in sorted({1, cores})] + [("ray", cores)]
    assert result.rows[-1]["games/s"] > 0


# ---- one machine needs no Ray; the local backend is the deterministic one ---------------------

def test_the_pipeline_does_not_import_ray():
    import subprocess
    import sys

    code = "import sys, engine.pipeline, engine.bench; print('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_the_local_backend_plays_in_this_process_the_same_games_for_a_seed():
    from engine.backends import LocalSelfPlay, make_selfplay
    from engine.network import InferenceSettings, build_network

    cfg = config("local")  # workers = 2, but in this process
    net = build_network(games.get("tictactoe"), cfg.network)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    played = []
    for _ in range(2):
        backend = make_selfplay(cfg, net, InferenceSettings(threads=1))
        assert isinstance(backend, LocalSelfPlay)
        played.append(backend.play(weights, 4, seed=7))
    (first, _, evals_a), (second, _, evals_b) = played
    assert evals_a == evals_b and len(first) == len(second) == 4
    assert all((a.actions == b.actions).all() for a, b in zip(first, second))
