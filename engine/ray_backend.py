"""Self-play on a Ray cluster (pipeline.backend = "ray"; imported only then).

`workers` actors, each a LocalSelfPlay in a process of its own on any node, get the network as
an object ref (ray.put of the CPU state dict, checked against its checksum on arrival) and send
their finished games back; the trainer and the replay buffer stay with the driver and its run
directory. An actor that dies (its process killed, its node lost) is replaced and its share of
the generation played again by the new one: only its games in flight are lost.
"""
from __future__ import annotations

import hashlib
import logging
import os
from typing import Callable

import ray
import torch
from ray.exceptions import RayActorError, RayTaskError

import games
from engine.backends import LocalSelfPlay, Played, merge, shares
from engine.config import Config
from engine.network import NetworkEvaluator, build_network, choose_inference
from engine.rundir import RunError

RESTARTS_PER_ACTOR = 3  # deaths per actor and generation before the run gives up


def weights_checksum(weights: dict) -> str:
    """sha256 of a state dict: every tensor's name, dtype, shape and bytes, in order."""
    digest = hashlib.sha256()
    for name, tensor in weights.items():
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)};".encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class SelfPlayActor:
    """One self-play actor: its own network copy, placed and run as a short measurement where
    it lands says (nodes differ), within pipeline.precision and pipeline.layout. A failure to
    start is kept for its first job to raise: an actor whose constructor raises is dead, and
    would be replaced forever."""

    def __init__(self, config: Config, threads: int, device: str):
        try:
            torch.set_num_threads(threads)
            game = games.get(config.game)
            net = build_network(game, config.network)
            batch = config.selfplay.games_in_parallel * config.search.leaves_per_tree
            settings = choose_inference(net, game, batch, (threads,), device,
                                        config.pipeline.precision, config.pipeline.layout)
            # the network measured plays (already placed as settings say; each job loads its
            # weights): one network an actor
            self.selfplay, self.error = LocalSelfPlay(config, NetworkEvaluator(net, game,
                                                                               settings)), ""
        except Exception as e:  # noqa: BLE001 - raised by play
            self.selfplay, self.error = None, f"{type(e).__name__}: {e}"

    def where(self) -> dict:
        """The node this actor runs on (id, address) and its inference settings."""
        return {"node": ray.get_runtime_context().get_node_id(),
                "address": ray.util.get_node_ip_address(),
                "inference": self.selfplay.evaluator.settings.describe() if self.selfplay
                else f"failed to start: {self.error}"}

    def play(self, weights: dict, checksum: str, num_games: int, seed: int) -> Played:
        if self.selfplay is None:
            raise RuntimeError(f"a self-play actor could not start: {self.error}")
        if weights_checksum(weights) != checksum:
            raise RuntimeError("the network's weights arrived damaged (checksum mismatch)")
        return self.selfplay.play(weights, num_games, seed)


_RemoteActor = ray.remote(SelfPlayActor)


def actor_count(p, resources: dict) -> int:
    """The actors of pipeline settings p on a cluster of these resources (workers = 0: as many
    as its CPUs hold); RunError when no actor could ever be placed."""
    for kind, need in (("CPU", p.ray_actor_cpus), ("GPU", p.ray_actor_gpus)):
        if need > resources.get(kind, 0):
            raise RunError(f"pipeline.ray_actor_{kind.lower()}s = {need:g}, but the Ray cluster "
                           f"has {resources.get(kind, 0):g} {kind}s in all")
    return p.workers or max(1, int(resources["CPU"] // p.ray_actor_cpus))


def connect(address: str) -> bool:
    """Join the Ray cluster at address (empty: start one on this machine), unless this process
    has joined one already; True when this call did (ray.shutdown then leaves it, and stops
    the cluster it started)."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address or "local", include_dashboard=False,
                 logging_level=logging.ERROR,
                 **({} if address else {"num_cpus": len(os.sched_getaffinity(0))}))
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise RunError(f"pipeline.ray_address: cannot join the Ray cluster at "
                       f"{address or 'this machine'}: {str(e).splitlines()[0]} (a cluster "
                       f"with token authentication also needs RAY_AUTH_MODE=token and its "
                       f"token here: docs/distributed.md)") from None
    return True


class RaySelfPlay:
    """Self-play in pipeline.workers Ray actors (0: one per ray_actor_cpus of the cluster),
    each holding pipeline.ray_actor_cpus CPUs and ray_actor_gpus GPUs, spread over the nodes."""

    def __init__(self, config: Config, log: Callable[[str], None]):
        self.config, self.log, self.actors = config, log, []
        self.owns_cluster = connect(config.pipeline.ray_address)
        try:
            self.workers = actor_count(config.pipeline, ray.cluster_resources())
        except RunError:
            self.close()
            raise
        self.actors = [self._start() for _ in range(self.workers)]
        self.placements = ray.get([actor.where.remote() for actor in self.actors])
        for i, place in enumerate(self.placements):
            log(f"self-play actor {i}: node {place['address']} ({place['node'][:8]}), "
                f"{place['inference']}")

    def _start(self):
        p = self.config.pipeline
        actor = _RemoteActor.options(num_cpus=p.ray_actor_cpus, num_gpus=p.ray_actor_gpus,
                                     max_restarts=0, scheduling_strategy="SPREAD")
        return actor.remote(self.config, max(1, int(p.ray_actor_cpus)),
                            "cuda" if p.ray_actor_gpus else "cpu")

    def play(self, weights: dict, num_games: int, seed: int) -> Played:
        ref, checksum = ray.put(weights), weights_checksum(weights)
        jobs = {self._submit(job, ref, checksum): job
                for job in shares(num_games, self.workers, seed)}
        results, restarts = {}, 0
        while jobs:
            [done], _ = ray.wait(list(jobs), num_returns=1)
            job = jobs.pop(done)
            try:
                results[job[0]] = ray.get(done)
            except RayTaskError as e:
                raise RuntimeError(f"self-play actor {job[0]}: {e.cause}") from None
            except RayActorError as e:
                restarts += 1
                self._replace(job, restarts, e)
                jobs[self._submit(job, ref, checksum)] = job
        played = merge([results[i] for i in sorted(results)])
        played[1].restarts = restarts
        return played

    def _submit(self, job: tuple[int, int, int], ref, checksum: str):
        index, num_games, seed = job
        return self.actors[index].play.remote(ref, checksum, num_games, seed)

    def _replace(self, job: tuple[int, int, int], restarts: int, error: RayActorError) -> None:
        """A new actor in the place of job's dead one (logged); RuntimeError once actors have
        died more than RESTARTS_PER_ACTOR times each in this generation."""
        index, num_games, _ = job
        reason = str(error).strip().splitlines()[-1]
        if restarts > RESTARTS_PER_ACTOR * self.workers:
            raise RuntimeError(f"self-play actors died {restarts} times in one generation; "
                               f"the last: {reason}")
        ray.kill(self.actors[index])
        self.actors[index] = self._start()
        self.log(f"self-play actor {index} died, restarted (its {num_games} games of this "
                 f"generation are played again): {reason}")

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        if self.owns_cluster:
            ray.shutdown()
