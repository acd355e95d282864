"""Self-play with the network evaluator's folded network (batch norms folded into the
convolutions) against the network as it is: one self-play process at the Connect Four default
(one torch thread, fp32 channels-last, an untrained network), paired rounds in alternating order.

    python docs/measurements/folded_network.py --rounds 6

Run it on a quiet machine: it measures one core's work."""
import argparse
import time

import numpy as np
import torch

import engine.network as network
import games
from engine.config import load_config
from engine.selfplay import SelfPlayStream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="paired rounds")
    parser.add_argument("--games", type=int, default=128, help="games a pass")
    args = parser.parse_args()
    torch.set_num_threads(1)
    game, cfg = games.get("connect4"), load_config("connect4")
    net = network.build_network(game, cfg.network).eval()
    settings = network.InferenceSettings(channels_last=True, bf16=False, threads=1)
    settings.prepare(net)
    streams = {}
    fold = network.folded
    for name, how in (("as it is", lambda n: n), ("folded", fold)):
        network.folded = how  # the evaluator keeps what it built until the weights change
        evaluator = network.NetworkEvaluator(net, game, settings)
        evaluator.inference_net()
        streams[name] = SelfPlayStream(game, evaluator, cfg.search, cfg.selfplay,
                                       cfg.selfplay.games_in_parallel, seed=0), evaluator
        streams[name][0].play(32)  # compile and warm up
    network.folded = fold
    rates = {name: [] for name in streams}
    for r in range(args.rounds):
        for name in list(streams)[::1 if r % 2 == 0 else -1]:
            stream, evaluator = streams[name]
            before, start = evaluator.positions, time.perf_counter()
            stream.play(args.games)
            rates[name].append((evaluator.positions - before) / (time.perf_counter() - start))
    for name, values in rates.items():
        print(f"{name:>9}: {' '.join(f'{v:,.0f}' for v in values)} evaluations/s, "
              f"median {np.median(values):,.0f}")
    ratios = np.array(rates["folded"]) / np.array(rates["as it is"])
    print(f"folded / as it is, per round: {' '.join(f'{x:.3f}' for x in ratios)}; "
          f"median {np.median(ratios):.3f}")


if __name__ == "__main__":
    main()
