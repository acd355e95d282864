"""Trainer: policy cross-entropy + value MSE (+ L2 through weight decay), SGD with momentum."""
from __future__ import annotations

import math

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
          average: AveragedModel | None = None) -> dict:
    """Run cfg.steps_per_generation SGD steps on replay samples; return mean losses.
    channels_last: the net is in that memory format, and its batches are made so.
    average: updated with net's weights after every step."""
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
        total, *parts = losses(net, planes, policies, values, cfg.value_weight)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        if average is not None:
            average.update_parameters(net)
        sums += torch.stack([total, *parts]).detach()
    net.eval()
    mean = (sums / max(cfg.steps_per_generation, 1)).tolist()
    check_finite(mean[0], (net, average.module if average is not None else None), generation)
    return {"loss": mean[0], "policy_loss": mean[1], "value_loss": mean[2],
            "policy_entropy": mean[3], "learning_rate": lr}
