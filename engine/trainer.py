"""Trainer: policy cross-entropy + value MSE (+ L2 through weight decay), SGD with momentum."""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from engine.config import TrainerConfig
from engine.network import PolicyValueNet
from engine.replay import ReplayBuffer


class TrainingDiverged(ValueError):
    """A training step gave a non-finite loss or weights: the run stops, and that network is
    never saved, gated or promoted."""


def check_finite(loss: float, nets, generation: int) -> None:
    """TrainingDiverged unless the mean loss and every weight and buffer of nets are finite."""
    bad = next((name for net in nets if net is not None
                for name, t in (*net.named_parameters(), *net.named_buffers())
                if t.is_floating_point() and not bool(torch.isfinite(t).all())), None)
    if not math.isfinite(loss) or bad is not None:
        raise TrainingDiverged(
            f"training diverged in generation {generation}: "
            + (f"the loss is {loss}" if not math.isfinite(loss) else f"weight {bad} is not finite")
            + "; the run stops at the last complete generation, its networks kept (start a new "
              "--run-dir with a lower trainer.learning_rate)")


def make_optimizer(net: PolicyValueNet, cfg: TrainerConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=cfg.learning_rate, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay, nesterov=True)


def make_average(net: PolicyValueNet, cfg: TrainerConfig) -> AveragedModel | None:
    """The exponential moving average of net's weights and batch-norm statistics (None when
    cfg.ema_decay is 0); it starts as a copy of net."""
    if not cfg.ema_decay:
        return None
    average = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay),
                            use_buffers=True)
    average.update_parameters(net)  # counts the copy as the first average: steps then blend
    average.module.eval()
    return average


def learning_rate(cfg: TrainerConfig, generation: int, progress: float | None = None) -> float:
    """The learning rate of this generation; progress: the share of the run's budget spent
    (None: the run has no budget, and a cosine schedule stays at its start)."""
    if cfg.lr_schedule == "cosine":
        p = min(max(progress or 0.0, 0.0), 1.0)
        cosine = 0.5 * (1 + math.cos(math.pi * p))
        return cfg.learning_rate * (cfg.lr_final + (1 - cfg.lr_final) * cosine)
    if cfg.lr_decay_generations <= 0:
        return cfg.learning_rate
    return cfg.learning_rate * 0.1 ** ((generation - 1) // cfg.lr_decay_generations)


def losses(net: PolicyValueNet, planes, policies, values, value_weight: float):
    """(total, policy cross-entropy, value MSE, policy entropy) on one batch."""
    logits, predicted = net(planes)
    log_p = F.log_softmax(logits, dim=1)
    policy_loss = _mean_over(-(policies * log_p).sum(dim=1), policies.sum(dim=1) > 0)
    has_value = ~torch.isnan(values)
    value_loss = (F.mse_loss(predicted, values) if bool(has_value.all())
                  else _mean_over((predicted - values.nan_to_num()) ** 2, has_value))
    entropy = -(log_p.exp() * log_p).sum(dim=1).mean()
    return policy_loss + value_weight * value_loss, policy_loss, value_loss, entropy


def _mean_over(losses: torch.Tensor, has_target: torch.Tensor) -> torch.Tensor:
    """The mean loss over the samples that have a target (a learner may give a position a
    policy target only, or a value target only: zeros and NaN mark the missing one)."""
    if bool(has_target.all()):
        return losses.mean()
    return (losses * has_target).sum() / has_target.sum().clamp(min=1)


def train(net: PolicyValueNet, optimizer: torch.optim.Optimizer, replay: ReplayBuffer,
          cfg: TrainerConfig, generation: int, rng: np.random.Generator,
          progress: float | None = None, channels_last: bool = False,
          average: AveragedModel | None = None, bf16: bool = False) -> dict:
    """Run cfg.steps_per_generation SGD steps on replay samples; return mean losses.
    channels_last: the net is in that memory format, and its batches are made so.
    average: updated with net's weights after every step. bf16: the forward pass and losses
    under bf16 autocast (see choose_training)."""
    lr = learning_rate(cfg, generation, progress)
    for group in optimizer.param_groups:
        group["lr"] = lr
    net.train()
    device = next(net.parameters()).device
    sums = torch.zeros(4, device=device)
    for _ in range(cfg.steps_per_generation):
        planes, policies, values = (torch.from_numpy(a).to(device, non_blocking=True)
                                    for a in replay.sample(cfg.batch_size, rng))
        if channels_last:
            planes = planes.contiguous(memory_format=torch.channels_last)
        sums += _step(net, optimizer, planes, policies, values, cfg.value_weight, bf16)
        if average is not None:
            average.update_parameters(net)
    net.eval()
    mean = (sums / max(cfg.steps_per_generation, 1)).tolist()
    check_finite(mean[0], (net, average.module if average is not None else None), generation)
    return {"loss": mean[0], "policy_loss": mean[1], "value_loss": mean[2],
            "policy_entropy": mean[3], "learning_rate": lr}


def _autocast(device: torch.device, bf16: bool):
    """bf16 autocast, or no context at all (fp32 exactly as without one)."""
    return torch.autocast(device.type, torch.bfloat16) if bf16 else contextlib.nullcontext()


def _step(net, optimizer, planes, policies, values, value_weight: float, bf16: bool):
    """One SGD step; the step's (total, policy, value, entropy) losses, detached."""
    with _autocast(planes.device, bf16):
        total, *parts = losses(net, planes, policies, values, value_weight)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return torch.stack([total, *parts]).detach().float()


@dataclass(frozen=True)
class TrainingSettings:
    """The trainer's precision, chosen by measurement (choose_training) or set."""

    bf16: bool = False
    fp32_steps_per_s: float = 0.0
    bf16_steps_per_s: float = 0.0
    fp32_loss: float | None = None  # on choose_training's fixed batch (when bf16 is faster)
    bf16_loss: float | None = None
    fixed: bool = False  # set by pipeline.precision, not measured

    def describe(self) -> str:
        if self.fixed:
            return f"{'bf16 autocast' if self.bf16 else 'fp32'} (pipeline.precision)"
        if not self.fp32_steps_per_s:
            return "fp32 (this CPU has no bf16 instructions for oneDNN: not measured)"
        checked = ("" if self.bf16_loss is None else f"; loss on a fixed batch fp32 "
                   f"{self.fp32_loss:.4f}, bf16 {self.bf16_loss:.4f}")
        return (f"{'bf16 autocast' if self.bf16 else 'fp32'} (steps/s fp32 "
                f"{self.fp32_steps_per_s:.3g}, bf16 {self.bf16_steps_per_s:.3g}{checked})")


def _fixed_batch(net: PolicyValueNet, planes_shape, num_actions: int, size: int,
                 channels_last: bool):
    """A seeded batch of 0/1 planes, random policies and +-1 values (no draw from torch)."""
    rng = np.random.default_rng(0)
    device = next(net.parameters()).device
    planes = torch.from_numpy(rng.integers(0, 2, (size, *planes_shape)).astype(np.float32))
    if channels_last:
        planes = planes.contiguous(memory_format=torch.channels_last)
    policies = torch.from_numpy(rng.dirichlet(np.ones(num_actions), size).astype(np.float32))
    values = torch.from_numpy(rng.choice([-1.0, 1.0], size).astype(np.float32))
    return planes.to(device), policies.to(device), values.to(device)


def _steps_per_s(net, cfg: TrainerConfig, batch, bf16: bool, steps: int,
                 budget: float = math.inf) -> float:
    """Training steps/s of a copy of net (net itself is untouched) over `steps` steps after a
    warm-up step; past `budget` seconds in all, the rate of what ran (a lower bound)."""
    net = copy.deepcopy(net).train()
    optimizer = make_optimizer(net, cfg)
    sync = torch.cuda.synchronize if batch[0].is_cuda else (lambda: None)
    begin = time.perf_counter()
    _step(net, optimizer, *batch, cfg.value_weight, bf16)
    sync()
    done, start = 0, time.perf_counter()
    while done < steps and start - begin <= budget and time.perf_counter() - begin <= budget:
        _step(net, optimizer, *batch, cfg.value_weight, bf16)
        done += 1
        sync()
    if done == 0:  # the warm-up step alone overran the budget
        return 1 / (start - begin)
    return done / (time.perf_counter() - start)


def _cpu_has_bf16() -> bool:
    """Whether oneDNN runs bf16 on this CPU (AVX-512 and up); without it bf16 is emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return True  # unknown: measure


def choose_training(net: PolicyValueNet, planes_shape, num_actions: int, cfg: TrainerConfig,
                    channels_last: bool = False, steps: int = 3,
                    tolerance: float = 0.02, precision: str = "auto") -> TrainingSettings:
    """bf16 autocast for training where a few steps run faster than fp32's and its loss on a
    fixed batch is within `tolerance` (relative) of fp32's; else fp32. Measured on copies of
    net with a seeded batch: neither net nor torch's random generator is touched. A precision
    other than "auto" (pipeline.precision) is taken as it is."""
    if precision != "auto":
        return TrainingSettings(precision == "bf16", fixed=True)
    batch = _fixed_batch(net, planes_shape, num_actions, cfg.batch_size, channels_last)
    if not batch[0].is_cuda and not _cpu_has_bf16():
        return TrainingSettings()  # emulated bf16: 10-20x slower than fp32, not measured
    fp32 = _steps_per_s(net, cfg, batch, False, steps)
    # bf16 is measured until it is clearly slower: where it is 10-20x slower (CPUs without
    # bf16 instructions), this keeps the start-up cost to about a second
    bf16 = _steps_per_s(net, cfg, batch, True, steps, budget=1.0 + 2 * steps / fp32)
    if bf16 <= fp32:
        return TrainingSettings(False, fp32, bf16)
    probe = copy.deepcopy(net).eval()
    with torch.no_grad():
        loss32 = float(losses(probe, *batch, cfg.value_weight)[0])
        with _autocast(batch[0].device, True):
            loss16 = float(losses(probe, *batch, cfg.value_weight)[0])
    close = abs(loss16 - loss32) <= tolerance * abs(loss32)
    return TrainingSettings(close, fp32, bf16, loss32, loss16)
