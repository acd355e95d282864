"""The policy/value network (a small AlphaZero residual tower) and its search evaluator."""
from __future__ import annotations

import itertools
import time
import warnings
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine.config import NetworkConfig
from games import Game


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class PolicyValueNet(nn.Module):
    """Planes [n, C, H, W] -> (policy logits [n, A], value [n] in [-1, 1], mover's view)."""

    def __init__(self, planes: tuple[int, int, int], num_actions: int, cfg: NetworkConfig):
        super().__init__()
        c_in, h, w = planes
        ch = cfg.channels
        self.stem = nn.Sequential(nn.Conv2d(c_in, ch, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(ch), nn.ReLU())
        self.tower = nn.Sequential(*[ResidualBlock(ch) for _ in range(cfg.blocks)])
        self.policy_head = nn.Sequential(nn.Conv2d(ch, 2, 1, bias=False), nn.BatchNorm2d(2),
                                         nn.ReLU(), nn.Flatten(), nn.Linear(2 * h * w, num_actions))
        self.value_head = nn.Sequential(nn.Conv2d(ch, 1, 1, bias=False), nn.BatchNorm2d(1),
                                        nn.ReLU(), nn.Flatten(), nn.Linear(h * w, cfg.value_hidden),
                                        nn.ReLU(), nn.Linear(cfg.value_hidden, 1), nn.Tanh())

    def forward(self, x):
        x = self.tower(self.stem(x))
        return self.policy_head(x), self.value_head(x).squeeze(1)


def build_network(game: Game, cfg: NetworkConfig) -> PolicyValueNet:
    return PolicyValueNet(game.planes, game.num_actions, cfg)


def masked_softmax(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.masked_fill(~masks, -1e9), dim=1)


def resolve_device(name: str) -> torch.device:
    """"auto" (CUDA when torch sees a GPU, else the CPU), "cpu", "cuda" or "cuda:N"."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (use auto, cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but torch sees no CUDA GPU")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r} (use auto, cpu or cuda)")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {name!r} asked for, but torch sees "
                         f"{torch.cuda.device_count()} CUDA GPU(s)")
    return device


@dataclass(frozen=True)
class InferenceSettings:
    """How to run the network fastest on this machine, chosen by measurement."""

    channels_last: bool = False
    bf16: bool = False
    threads: int = 0  # torch threads (0 = leave torch's setting)
    positions_per_s: float = 0.0
    device: str = "cpu"

    def describe(self) -> str:
        used = self.used()
        return (f"{used['device']}, {used['precision']}, {used['layout']}, {used['threads']} "
                f"threads, {self.positions_per_s:,.0f} positions/s")

    def used(self) -> dict:
        """What runs the network, in the words of the settings: device, precision, layout and
        threads (torch's count now)."""
        return {"device": self.device, "precision": "bf16" if self.bf16 else "fp32",
                "layout": "channels_last" if self.channels_last else "contiguous",
                "threads": torch.get_num_threads()}

    def autocast(self):
        return torch.autocast(torch.device(self.device).type, torch.bfloat16, enabled=self.bf16)

    def prepare(self, net: nn.Module) -> nn.Module:
        """The network moved to this device and memory format."""
        return net.to(self.device, memory_format=torch.channels_last if self.channels_last
                      else torch.contiguous_format)

    def input(self, planes: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(planes).to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def folded(net: nn.Module) -> nn.Module:
    """A copy of net (in eval mode) for inference: each batch norm folded into the convolution
    before it and the modules flattened into one graph (torch.fx), the same outputs to float
    rounding; faster inside self-play, where the activations leave the cache between forward
    passes (1.07-1.14x on a CPU; in a bare loop, no measurable gain: docs/benchmarks.md)."""
    with warnings.catch_warnings():  # the module imports torch.jit's deprecated scripting
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.fx.experimental.optimization import fuse
    return fuse(net)


def measure_inference(net: nn.Module, game: Game, batch: int, settings: InferenceSettings,
                      seconds: float = 0.3) -> float:
    """Positions per second of a bare forward pass at this batch size and setting (of the net
    that a NetworkEvaluator runs: folded, when in eval mode)."""
    x = settings.input(np.zeros((batch, *game.planes), np.float32))
    net = settings.prepare(net if any(m.training for m in net.modules()) else folded(net))
    with torch.inference_mode(), settings.autocast():
        net(x)
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or count < 2:
            net(x)
            count += 1
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
    return count * batch / (time.perf_counter() - start)


def choose_inference(net: nn.Module, game: Game, batch: int,
                     thread_counts: tuple[int, ...] = (), device: str = "cpu",
                     precision: str = "auto", layout: str = "auto") -> InferenceSettings:
    """Try fp32/bf16 x contiguous/channels-last (x each of thread_counts, on the CPU) at this
    batch on this device, or only the precision and layout given (pipeline.precision,
    pipeline.layout); keep the fastest, leave torch set to its thread count and the net in its
    format."""
    was_training = net.training
    net.eval()
    best = InferenceSettings(device=device)
    if not thread_counts or (torch.device(device).type != "cpu" and len(thread_counts) > 1):
        thread_counts = (torch.get_num_threads(),)  # on a GPU: the given count, or torch's
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for bf16 in (False, True) if precision == "auto" else (precision == "bf16",):
            for channels_last in ((False, True) if layout == "auto"
                                  else (layout == "channels_last",)):
                trial = InferenceSettings(channels_last, bf16, threads, device=device)
                rate = measure_inference(net, game, batch, trial, seconds=0.2)
                if rate > best.positions_per_s:
                    best = InferenceSettings(channels_last, bf16, threads, rate, device)
    torch.set_num_threads(best.threads)
    best.prepare(net)
    net.train(was_training)
    return best


class NetworkEvaluator:
    """The search's evaluator for a network: encode (numba) -> forward (torch) -> masked softmax."""

    def __init__(self, net: PolicyValueNet, game: Game, settings: InferenceSettings | None = None):
        self.net, self.game = net.eval(), game
        self.settings = settings or InferenceSettings(device=str(next(net.parameters()).device))
        self.calls, self.positions = 0, 0
        self.forward_seconds = 0.0  # in forward passes, not encoding or softmax (GPU: launches)
        self._folded, self._folded_from, self._tensors = None, None, []
        self._stale = True  # set by any load_state_dict into net (assign=True included)
        # the hook holds the evaluator weakly and leaves with it: a net may outlive many
        # evaluators built on it
        evaluator = weakref.ref(self)

        def loaded(module, incompatible_keys) -> None:
            if evaluator() is not None:
                evaluator()._stale = True

        weakref.finalize(self, net.register_load_state_dict_post_hook(loaded).remove)

    def inference_net(self) -> nn.Module:
        """The module that evaluates: net while it (or any part) trains, else its folded copy,
        folded again once net's weights change: a load_state_dict, or an in-place change such as
        a training step (torch counts those in each tensor's version). Weights changed through
        `.data` or a module swapped in are not seen: load them instead."""
        if self.net.training:
            return self.net
        if not self._stale and [(t.data_ptr(), t._version) for t in self._tensors] == \
                self._folded_from:
            return self._folded
        if any(m.training for m in self.net.modules()):
            return self.net
        self._tensors = [t for t in itertools.chain(self.net.parameters(), self.net.buffers())
                         if not t.is_inference()]  # (an inference tensor has no version)
        self._folded_from = [(t.data_ptr(), t._version) for t in self._tensors]
        self._folded, self._stale = self.settings.prepare(folded(self.net)), False
        return self._folded

    def __call__(self, states: np.ndarray, masks: np.ndarray):
        planes = np.empty((len(states), *self.game.planes), np.float32)
        self.game.encode(states, planes)
        net = self.inference_net()
        with torch.inference_mode(), self.settings.autocast():
            x = self.settings.input(planes)
            start = time.perf_counter()
            logits, values = net(x)
            self.forward_seconds += time.perf_counter() - start
            priors = masked_softmax(logits.float().cpu(), torch.from_numpy(masks))
            values = values.float().cpu()
        self.calls += 1
        self.positions += len(states)
        return priors.numpy(), values.numpy()


def make_evaluator(game: Game, cfg: NetworkConfig, weights: dict | None = None,
                   settings: InferenceSettings | None = None) -> NetworkEvaluator:
    """The search's evaluator for a new network of this shape (with these weights, else its
    initial ones), placed as `settings` say (default: fp32 on the CPU, torch's threads): the
    one place that builds a network to play (but a Ray actor, which plays the network it chose
    its settings on). Given weights, it draws nothing from torch's generator (a run draws the
    same numbers however many evaluators it builds)."""
    if weights is None:
        net = build_network(game, cfg)
    else:
        with torch.random.fork_rng(devices=[]):
            net = build_network(game, cfg)
        net.load_state_dict(weights)
    if settings is not None:
        net = settings.prepare(net)
    return NetworkEvaluator(net.eval(), game, settings)
