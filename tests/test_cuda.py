"""The network on a CUDA GPU: the evaluator agrees with the CPU's, and a run trains there with
self-play workers and writes checkpoints that a CPU-only machine loads. Skipped without a GPU."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import games
from engine.checkpoint import load_checkpoint
from engine.config import load_config
from engine.network import (InferenceSettings, NetworkEvaluator, build_network, choose_inference,
                            resolve_device)
from engine.pipeline import Pipeline

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
GAME = games.get("connect4")


def random_positions(n: int, seed: int):
    """n positions after 6 random moves: (states [n, S], legal masks [n, A])."""
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(n):
        state = GAME.initial()
        for _ in range(6):
            state = GAME.apply(state, int(rng.choice(np.flatnonzero(GAME.legal(state)))))
        states.append(state)
    states = np.stack(states)
    return states, np.stack([GAME.legal(s) for s in states])


def test_auto_picks_the_gpu():
    assert resolve_device("auto").type == "cuda"


def test_the_gpu_evaluator_agrees_with_the_cpu_one():
    torch.manual_seed(0)
    config = load_config("connect4")
    cpu_net = build_network(GAME, config.network).eval()
    gpu_net = build_network(GAME, config.network)
    gpu_net.load_state_dict(cpu_net.state_dict())
    settings = choose_inference(gpu_net, GAME, 64, device="cuda")
    assert settings.device == "cuda" and settings.positions_per_s > 0
    states, masks = random_positions(64, 1)
    cpu_priors, cpu_values = NetworkEvaluator(cpu_net, GAME)(states, masks)
    fp32 = InferenceSettings(settings.channels_last, False, device="cuda")
    priors, values = NetworkEvaluator(gpu_net, GAME, fp32)(states, masks)
    assert priors.dtype == np.float32 and values.dtype == np.float32
    np.testing.assert_allclose(priors, cpu_priors, atol=5e-3)  # TF32 convolutions
    np.testing.assert_allclose(values, cpu_values, atol=5e-3)
    assert np.all(priors[~masks] == 0)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_trains_on_the_gpu_and_its_checkpoints_load_on_the_cpu(tmp_path, workers):
    config = load_config("connect4", overrides=[
        "selfplay.games_per_generation=32", "selfplay.games_in_parallel=16",
        "search.simulations=8", "trainer.steps_per_generation=20", "trainer.batch_size=64",
        "arena.rating_games=2", "arena.anchor_rollouts=4", "arena.rating_every=1",
        "replay.window_min=1000", "pipeline.generations=2", "pipeline.device=cuda",
        f"pipeline.workers={workers}"])
    state = Pipeline(config, tmp_path, quiet=True).run()
    assert state.generation == 2 and state.games >= 32
    assert json.loads((tmp_path / "inference.json").read_text())["device"] == "cuda"
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in records] == [1, 2]
    assert all(np.isfinite(r["loss"]) for r in records)
    ckpt = load_checkpoint(tmp_path / "candidate.ckpt", "connect4")
    assert all(t.device.type == "cpu" for t in ckpt.weights.values())
    assert all(t.device.type == "cpu" for s in ckpt.optimizer["state"].values()
               for t in s.values() if isinstance(t, torch.Tensor))
