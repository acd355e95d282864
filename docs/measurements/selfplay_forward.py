"""Where one self-play process's time goes, at the Connect Four default (one torch thread,
fp32 or --bf16, channels-last, an untrained network): the network's forward passes timed inside self-play,
the same batch sizes replayed bare in the same order, and bare batches of 128.

    python docs/measurements/selfplay_forward.py --games 256

Run it on a quiet machine: it measures one core's work."""
import argparse
import time

import numpy as np
import torch

import games
from engine.config import load_config
from engine.network import InferenceSettings, NetworkEvaluator, build_network
from engine.selfplay import SelfPlayStream


class TimedEvaluator(NetworkEvaluator):
    """The search's network evaluator, with each call's batch size and time kept."""

    def __init__(self, *args):
        super().__init__(*args)
        self.sizes, self.seconds = [], 0.0

    def __call__(self, states, masks):
        start = time.perf_counter()
        out = super().__call__(states, masks)
        self.seconds += time.perf_counter() - start
        self.sizes.append(len(states))
        return out


def bare_seconds(net, game, settings, sizes) -> float:
    """Seconds of bare forward passes at these batch sizes, in this order, as the evaluator
    runs them (its folded network, under its precision's autocast)."""
    inputs = {b: settings.input(np.random.default_rng(b).integers(0, 2, (b, *game.planes))
                                .astype(np.float32)) for b in set(sizes)}
    with torch.inference_mode(), settings.autocast():
        for x in inputs.values():
            net(x)
        start = time.perf_counter()
        for b in sizes:
            net(inputs[b])
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=256, help="self-play games to time")
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 autocast (what a machine with AVX-512 BF16 or AMX picks)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    game, cfg = games.get("connect4"), load_config("connect4")
    net = build_network(game, cfg.network).eval()
    settings = InferenceSettings(channels_last=True, bf16=args.bf16, threads=1)
    settings.prepare(net)
    evaluator = TimedEvaluator(net, game, settings)
    stream = SelfPlayStream(game, evaluator, cfg.search, cfg.selfplay,
                            cfg.selfplay.games_in_parallel, seed=0)
    stream.play(32)  # compile and warm up
    evaluator.sizes, evaluator.seconds, evaluator.forward_seconds = [], 0.0, 0.0
    start = time.perf_counter()
    stream.play(args.games)
    wall = time.perf_counter() - start
    sizes = evaluator.sizes
    n, forward = sum(sizes), evaluator.forward_seconds
    evaluator_rest = evaluator.seconds - forward  # encoding, softmax, conversions
    folded = evaluator.inference_net()
    replay = bare_seconds(folded, game, settings, sizes)
    fixed = bare_seconds(folded, game, settings, [128] * (n // 128))
    print(f"self-play: {n:,} evaluations in {wall:.1f} s = {n / wall:,.0f}/s, "
          f"mean batch {np.mean(sizes):.1f} of {cfg.selfplay.games_in_parallel}")
    print(f"  forward inside self-play  {forward / n * 1e6:6.1f} us/position "
          f"({forward / wall:.1%} of the time)")
    print(f"  the rest of the evaluator {evaluator_rest / n * 1e6:6.1f} us/position "
          f"({evaluator_rest / wall:.1%})")
    print(f"  search and game kernels   {(wall - forward - evaluator_rest) / n * 1e6:6.1f} "
          f"us/position ({(wall - forward - evaluator_rest) / wall:.1%})")
    print(f"  bare, the same sizes      {replay / n * 1e6:6.1f} us/position")
    print(f"  bare, batches of 128      {fixed / (128 * (n // 128)) * 1e6:6.1f} us/position")


if __name__ == "__main__":
    main()
