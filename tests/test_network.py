"""The network evaluator runs a folded copy of its network (batch norms folded into the
convolutions): the same priors and values as the network itself, and the new ones as soon as
the network's weights change."""
import numpy as np
import pytest
import torch

import games
from engine.config import load_config
from engine.network import InferenceSettings, NetworkEvaluator, build_network, make_evaluator

GAME = games.get("connect4")
CONFIG = load_config("connect4")


def trained_looking(seed: int) -> torch.nn.Module:
    """A network whose batch norms hold running statistics far from their start."""
    torch.manual_seed(seed)
    net = build_network(GAME, CONFIG.network)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return net.eval()


def positions(n: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    states = GAME.new_states(n)
    for _ in range(6):
        masks = GAME.legal_masks(states)
        GAME.play(states, (rng.random(masks.shape) * masks).argmax(axis=1))
    return states, GAME.legal_masks(states)


def unfolded(net, states, masks):
    planes = np.empty((len(states), *GAME.planes), np.float32)
    GAME.encode(states, planes)
    with torch.inference_mode():
        logits, values = net(torch.from_numpy(planes))
        logits = logits.masked_fill(~torch.from_numpy(masks), -1e9)
        return torch.softmax(logits, dim=1).numpy(), values.numpy()


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_folded_network_evaluates_as_the_network_does(channels_last):
    net = trained_looking(0)
    evaluator = NetworkEvaluator(net, GAME, InferenceSettings(channels_last, False, 1))
    states, masks = positions()
    priors, values = evaluator(states, masks)
    assert evaluator.inference_net() is not net  # a folded copy runs
    expected_priors, expected_values = unfolded(net, states, masks)
    np.testing.assert_allclose(priors, expected_priors, atol=1e-5)
    np.testing.assert_allclose(values, expected_values, atol=1e-5)


def test_new_weights_reach_the_evaluator_at_once():
    net = trained_looking(0)
    evaluator = NetworkEvaluator(net, GAME, InferenceSettings(False, False, 1))
    states, masks = positions()
    before, _ = evaluator(states, masks)
    net.load_state_dict(trained_looking(1).state_dict())
    after, values = evaluator(states, masks)
    assert np.abs(after - before).max() > 1e-3
    expected_priors, expected_values = unfolded(net, states, masks)
    np.testing.assert_allclose(after, expected_priors, atol=1e-5)
    np.testing.assert_allclose(values, expected_values, atol=1e-5)
    with torch.no_grad():  # an in-place change, as a training step makes
        next(net.parameters()).mul_(0.5)
    changed, _ = evaluator(states, masks)
    np.testing.assert_allclose(changed, unfolded(net, states, masks)[0], atol=1e-5)


def test_weights_loaded_as_new_tensors_reach_the_evaluator():
    net = trained_looking(0)
    evaluator = NetworkEvaluator(net, GAME, InferenceSettings(False, False, 1))
    states, masks = positions()
    evaluator(states, masks)
    net.load_state_dict(trained_looking(1).state_dict(), assign=True)
    priors, _ = evaluator(states, masks)
    np.testing.assert_allclose(priors, unfolded(net, states, masks)[0], atol=1e-5)


def test_a_network_built_in_inference_mode_evaluates():
    with torch.inference_mode():
        net = trained_looking(0)
    states, masks = positions()
    priors, _ = NetworkEvaluator(net, GAME, InferenceSettings(False, False, 1))(states, masks)
    np.testing.assert_allclose(priors, unfolded(net, states, masks)[0], atol=1e-5)


def test_a_network_in_training_mode_is_run_as_it_is():
    net = trained_looking(0)
    evaluator = NetworkEvaluator(net, GAME, InferenceSettings(False, False, 1))
    net.train()
    assert evaluator.inference_net() is net


def test_evaluators_built_on_one_network_are_not_kept_alive_by_it():
    """The pipeline builds an evaluator on the same network every generation: each must go
    with its last reference (its folded copy with it), and take its load hook along."""
    import gc
    import weakref

    net = trained_looking(0)
    states, masks = positions()
    gone = []
    for _ in range(3):
        evaluator = NetworkEvaluator(net, GAME, InferenceSettings(False, False, 1))
        evaluator(states, masks)
        gone.append(weakref.ref(evaluator))
    del evaluator
    gc.collect()
    assert all(ref() is None for ref in gone)
    assert len(net._load_state_dict_post_hooks) == 0


@pytest.mark.parametrize("settings", [None, InferenceSettings(True, False, 1)])
def test_an_evaluator_of_given_weights_draws_nothing_from_torchs_generator(settings):
    weights = trained_looking(3).state_dict()
    torch.manual_seed(11)
    before = torch.get_rng_state()
    evaluator = make_evaluator(GAME, CONFIG.network, weights, settings)
    assert torch.equal(torch.get_rng_state(), before)
    for name, tensor in evaluator.net.state_dict().items():  # and it holds those weights
        assert torch.equal(tensor, weights[name]), name
    # without weights it draws its initial ones, as build_network does (the check can fail)
    make_evaluator(GAME, CONFIG.network, None, settings)
    assert not torch.equal(torch.get_rng_state(), before)
