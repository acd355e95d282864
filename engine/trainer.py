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
    policy_loss = -(policies * log_p).sum(dim=1).mean()
    value_loss = F.mse_loss(predicted, values)
    entropy = -(log_p.exp() * log_p).sum(dim=1).mean()
    return policy_loss + value_weight * value_loss, policy_loss, value_loss, entropy


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
    return {"loss": mean[0], "policy_loss": mean[1], "value_loss": mean[2],
            "policy_entropy": mean[3], "learning_rate": lr}
