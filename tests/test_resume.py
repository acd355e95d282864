"""A resume that changes nothing, part by part: the replay window goes on from the run's true
total, a redone generation's TensorBoard scalars replace the first try's, the trainer's network
of an incomplete generation waits under its own name, and `status` tells a run that has not
completed a generation from a directory without a run. (test_crash.py kills whole runs.)"""
import json
import struct

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

import games
from engine.checkpoint import Checkpoint, load_checkpoint
from engine.cli import main
from engine.config import ReplayConfig, load_config
from engine.network import build_network
from engine.pipeline import Pipeline, RunState, open_run
from engine.replay import ReplayBuffer
from engine.rundir import _trim_events, settle_candidate
from engine.selfplay import Trajectory
from test_crash import tensorboard_steps
from test_pipeline import read_metrics, tiny_config

GAME = games.get("tictactoe")


def shard(start: int, n: int) -> Trajectory:
    """n positions numbered from start (in their first cell), to tell them apart."""
    states = np.zeros((n, GAME.state_size), np.int64)
    states[:, 0] = np.arange(start, start + n)
    return Trajectory(states, np.full((n, GAME.num_actions), 1 / GAME.num_actions, np.float32),
                      np.zeros(n, np.float32))


@pytest.mark.parametrize("growth", [0.5, 3.0])
def test_a_reloaded_replay_buffer_holds_the_window_of_one_never_reloaded(tmp_path, growth):
    cfg = ReplayConfig(window_min=50, window_max=400, window_growth=growth)
    live, total = ReplayBuffer(GAME, cfg, tmp_path), 0
    for n in np.random.default_rng(0).integers(20, 90, 14):
        live.add([shard(total, int(n))])
        total += int(n)
        reloaded = ReplayBuffer(GAME, cfg, tmp_path, live.next_shard, total)
        assert reloaded.total_positions == live.total_positions == total
        assert (reloaded.window, len(reloaded)) == (live.window, len(live))
        assert np.array_equal(reloaded.states, live.states)
    assert not (tmp_path / "shard_000000.npz").exists()  # the oldest shards were dropped
    assert len(live) == live.window
    if growth < 1:  # counted from the shards on disk alone, the window would shrink
        assert ReplayBuffer(GAME, cfg, tmp_path).window < live.window


def test_a_redone_generation_logs_its_tensorboard_scalars_once(tmp_path, monkeypatch):
    config = tiny_config("pipeline.generations=2")
    real_save = RunState.save

    def killed_before_generation_2_completes(state, path):
        if state.generation == 2:
            raise KeyboardInterrupt  # after the metrics and TensorBoard records, like a kill
        real_save(state, path)
    monkeypatch.setattr(RunState, "save", killed_before_generation_2_completes)
    with pytest.raises(KeyboardInterrupt):
        Pipeline(config, tmp_path, quiet=True).run()
    assert {step for _, step in tensorboard_steps(tmp_path)} == {1, 2}
    monkeypatch.undo()
    assert Pipeline(config, tmp_path, quiet=True).run().generation == 2
    logged = tensorboard_steps(tmp_path)
    assert {step for _, step in logged} == {1, 2} and set(logged.values()) == {1}
    assert [r["generation"] for r in read_metrics(tmp_path)] == [1, 2]
    loss = {step: v for (_, step), v in _scalars(tmp_path / "tb", "loss/total").items()}
    assert loss[2] == pytest.approx(read_metrics(tmp_path)[1]["loss"])  # the redone one


def _scalars(tb_dir, tag: str) -> dict:
    """(tag, step) -> the value logged, over the events files in tb_dir."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    values = {}
    for path in sorted(tb_dir.iterdir()):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == tag:  # (the loader gives scalars as tensors)
                    values[tag, event.step] = value.tensor.float_val[0]
    return values


def test_trimming_tensorboard_events_keeps_whole_records_of_complete_generations(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step in (1, 2, 3):
        writer.add_scalar("loss", 1.0 / step, step)
    writer.close()
    (path,) = tmp_path.iterdir()
    whole = path.read_bytes()
    torn = whole + struct.pack("<Q", 100) + b"\0" * 30  # a record cut by a kill
    path.write_bytes(torn)
    _trim_events(tmp_path, 3)  # only the torn record goes
    assert path.read_bytes() == whole
    _trim_events(tmp_path, 1)
    assert _scalars(tmp_path, "loss") == {("loss", 1): 1.0}  # read back, checksums and all
    before = path.stat().st_mtime_ns
    _trim_events(tmp_path, 1)  # nothing to drop: not rewritten
    assert path.stat().st_mtime_ns == before


def test_the_trainers_network_of_an_incomplete_generation_waits_under_its_own_name(tmp_path):
    config = load_config("tictactoe")
    weights = build_network(GAME, config.network).state_dict()
    for generation, name in ((1, "candidate.ckpt"), (2, "candidate.pending.ckpt")):
        Checkpoint("tictactoe", generation, config.to_dict(), weights).save(tmp_path / name)
    settle_candidate(tmp_path, 1, "tictactoe")  # generation 2 did not complete: dropped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate.ckpt"]
    assert load_checkpoint(tmp_path / "candidate.ckpt").generation == 1
    Checkpoint("tictactoe", 2, config.to_dict(), weights).save(
        tmp_path / "candidate.pending.ckpt")
    settle_candidate(tmp_path, 2, "tictactoe")  # complete, killed before the rename: moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate.ckpt"]
    assert load_checkpoint(tmp_path / "candidate.ckpt").generation == 2


def test_status_of_a_run_killed_before_its_first_generation_says_so(tmp_path, capsys):
    run_dir = tmp_path / "run"
    open_run(run_dir, tiny_config())  # what a kill during generation 1 leaves, but networks
    assert main(["status", "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out == (f"{run_dir}: not running\n"
                   "game tictactoe: started, no generation complete yet: train on this "
                   "directory starts it again from generation 0\n")
    assert main(["status", "--run-dir", str(run_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["game"], info["generation"], info["games"]) == ("tictactoe", 0, 0)
    assert "no generation complete" in info["note"]
    # a directory without a run's config is still no run
    (tmp_path / "empty").mkdir()
    assert main(["status", "--run-dir", str(tmp_path / "empty")]) == 1
    assert "holds no zeroplay run" in capsys.readouterr().err
