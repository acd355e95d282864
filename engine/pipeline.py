"""The training loop: self-play -> replay -> train -> gate -> promote, resumable from its run dir.

Run directory:
    config.json        the resolved config (a resume with a meaning-bearing change is refused)
    state.json         generation, games, positions, best generation, last gate, Elo
    best.ckpt          the promoted network; candidate.ckpt: the trainer's network (with its
                       optimizer) of the last complete generation; candidate.pending.ckpt:
                       that of the generation in progress, renamed candidate.ckpt once it is
                       complete
    checkpoints/       gen_NNNN.ckpt, the network each generation gave the gate (with
                       trainer.ema_decay, the moving average of the trained weights)
    replay/            shard_NNNNNN.npz, the replay window
    metrics.jsonl      one JSON record per generation (its `commit`: the code that ran it,
                       where that is a git checkout); tb/: TensorBoard logs
    sgf/               gen_NNNN/game_NNN.sgf: pipeline.sgf_games self-play games of each
                       generation, for games with an SGF form (Go, Gomoku)
    lock               held by the one `train` process that writes here
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import games
from engine import tblog
from engine.arena import describe_ratings, gate, ladder, next_rung, play_pairs, rated_games
from engine.backends import check_backend, make_selfplay
from engine.checkpoint import Checkpoint, WriteError, atomic_write, load_checkpoint
from engine.config import Config
from engine.network import build_network, choose_inference, make_evaluator, resolve_device
from engine.players import (RandomPlayer, SearchPlayer, mcts_name, mcts_player,
                            resolve_checkpoint)
from engine.learners import check_learner, make_learner
from engine.limits import check_train
from engine.metrics import game_diversity, measure
from engine.replay import ReplayBuffer
from engine.rundir import (CANDIDATE, PENDING_CANDIDATE, RunError, RunLock, RunState,
                           _trim_events, _trim_metrics, check_run, code_version,
                           drop_temporaries, kept_checkpoint, open_run, settle_candidate)
from engine.strength import probe as strength_probe
from engine.trainer import choose_training, make_average, make_optimizer, train


def _to_cpu(tree):
    """A state dict (nested dicts and lists of tensors) with every tensor on the CPU."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu()
    if isinstance(tree, dict):
        return {k: _to_cpu(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to_cpu(v) for v in tree)
    return tree


BUDGET_UNITS = {"pipeline.generations": "generation", "pipeline.minutes": "minute",
                "pipeline.evaluations": "network evaluation"}


def budget_text(config: Config, setting: str) -> str:
    """A budget as words: '35 generations (pipeline.generations)'."""
    value = getattr(config.pipeline, setting.split(".")[1])
    amount = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return f"{amount} {BUDGET_UNITS[setting]}{'' if value == 1 else 's'} ({setting})"


def _log(message: str) -> None:
    tqdm.write(message, file=sys.stderr)  # above the progress bar, not through it


@dataclass
class _Loop:
    """What a running loop holds between generations."""

    best_net: torch.nn.Module  # the promoted network: self-play plays it
    candidate: torch.nn.Module  # the trained weights
    optimizer: torch.optim.Optimizer
    average: object  # the moving average of the candidate's weights, or None
    learner: object
    replay: ReplayBuffer
    selfplay: object
    writer: object
    probe: tuple | None  # (Probe, the start network's policy on it)

    @property
    def played(self) -> torch.nn.Module:
        """What is gated and kept: the moving average, else the candidate."""
        return self.average.module if self.average is not None else self.candidate


class Pipeline:
    """One training run of one game in one run directory."""

    def __init__(self, config: Config, run_dir: Path, quiet: bool = False):
        self.config, self.run_dir, self.quiet = config, Path(run_dir), quiet
        self.stopped_by = ""  # the budget setting that ended the run (see `budget_text`)
        self.game = games.get(config.game)

    def log(self, message: str) -> None:
        if not self.quiet:
            _log(message)

    def run(self) -> RunState:
        check_run(self.run_dir, self.config)  # refuse a foreign directory before touching it
        check_learner(self.game, self.config)
        check_train(self.game, self.config)  # a run the machine cannot hold
        check_backend(self.config)  # Ray installed, its cluster answering
        try:
            device = resolve_device(self.config.pipeline.device)
        except ValueError as e:
            raise RunError(f"pipeline.device: {e}") from None
        with RunLock(self.run_dir):
            return self._run(device)

    def _run(self, device: torch.device) -> RunState:
        cfg, run_dir = self.config, self.run_dir
        state = open_run(run_dir, cfg)
        loop = self._setup(state, device)
        start, minutes_before = time.time(), state.minutes
        bar = self._bar(state)
        try:
            while not self._budget_spent(state, start, minutes_before):
                self._generation(loop, state, start, minutes_before)
                bar.update(self._bar_count(state) - bar.n)
                bar.set_postfix_str(f"generation {state.generation}")
            self.stopped_by = self._budget_spent(state, start, minutes_before)
        finally:
            bar.close()
            loop.writer.close()
            loop.selfplay.close()
        return state

    def _bar(self, state: RunState) -> tqdm:
        """The progress bar, on a terminal: in minutes under a time budget (a run stops at
        whichever budget comes first), else in generations."""
        p = self.config.pipeline
        disable = self.quiet or not sys.stderr.isatty()
        if p.minutes:
            return tqdm(total=p.minutes, initial=state.minutes, unit="min", disable=disable,
                        bar_format="{l_bar}{bar}| {n:.1f}/{total:g} min{postfix}")
        return tqdm(total=p.generations or None, initial=state.generation, unit="gen",
                    disable=disable)

    def _bar_count(self, state: RunState) -> float:
        return state.minutes if self.config.pipeline.minutes else state.generation

    def _setup(self, state: RunState, device: torch.device) -> "_Loop":
        """Networks, inference settings, learner, replay, self-play and logs of a run that
        starts or resumes after state's generation."""
        cfg, game, run_dir = self.config, self.game, self.run_dir
        commit = code_version()  # in the record of every generation this start runs
        self.code = {"commit": commit} if commit else {}
        torch.manual_seed(cfg.pipeline.seed + state.generation)
        best_net, candidate, optimizer = self._load_networks(state, device)
        threads = ((cfg.pipeline.threads,) if cfg.pipeline.threads
                   else tuple(sorted({1, len(os.sched_getaffinity(0))})))
        settings = self.settings = choose_inference(
            best_net, game, cfg.selfplay.games_in_parallel, threads, str(device),
            cfg.pipeline.precision, cfg.pipeline.layout)
        settings.prepare(candidate)  # the layout that runs the net fastest trains it faster too
        self.training = choose_training(candidate, game.planes, game.num_actions, cfg.trainer,
                                        settings.channels_last,
                                        precision=cfg.pipeline.precision)
        self.log(f"trainer: {self.training.describe()}")
        average = self._load_average(candidate, state)
        self.log(f"inference: {settings.describe()}")
        if cfg.trainer.lr_schedule == "cosine" and not (cfg.pipeline.minutes
                                                        or cfg.pipeline.generations
                                                        or cfg.pipeline.evaluations):
            self.log("trainer.lr_schedule is cosine but the run has no budget (--minutes, "
                     "--generations or pipeline.evaluations): the learning rate stays at its start")
        atomic_write(run_dir / "inference.json", json.dumps(
            {**settings.__dict__, "trainer": self.training.__dict__}).encode())
        learner = make_learner(game, cfg, run_dir)
        _trim_metrics(run_dir / "metrics.jsonl", state.generation)
        _trim_events(run_dir / "tb", state.generation)
        drop_temporaries(run_dir)
        from torch.utils.tensorboard import SummaryWriter
        return _Loop(best_net, candidate, optimizer, average, learner,
                     ReplayBuffer(game, cfg.replay, run_dir / "replay", state.replay_shards,
                                  state.positions_trained),
                     make_selfplay(learner.generator(cfg), best_net, settings, self.log),
                     SummaryWriter(str(run_dir / "tb")), self._probe(best_net))

    def _generation(self, loop: "_Loop", state: RunState, start: float,
                    minutes_before: float) -> None:
        """One generation: self-play, labelling, training, gate, rating, metrics; the
        generation is complete once state.json lands."""
        cfg, game, run_dir = self.config, self.game, self.run_dir
        gen = state.generation + 1
        rng = np.random.default_rng([cfg.pipeline.seed, gen])
        record = {"generation": gen, **self.code, **self.settings.used(),
                  "train_precision": "bf16" if self.training.bf16 else "fp32"}
        t0 = time.time()
        records, sp, evaluations = loop.selfplay.play(
            _to_cpu(loop.best_net.state_dict()), cfg.selfplay.games_per_generation,
            seed=int(rng.integers(2**31)))
        self._write_sgf(gen, records)
        trajectories, learner_stats = loop.learner.label(records, rng)
        loop.replay.add(trajectories)
        state.replay_shards = loop.replay.next_shard
        sp_seconds = time.time() - t0
        labelled = sum(len(t.values) for t in trajectories)
        state.games += sp.games
        state.positions += sp.positions
        state.evaluations += evaluations
        state.positions_trained += labelled
        record.update(selfplay_seconds=sp_seconds, games=sp.games, positions=sp.positions,
                      games_per_s=sp.games / sp_seconds,
                      positions_per_s=sp.moves / sp_seconds,
                      evaluations_per_s=evaluations / sp_seconds,
                      mean_game_length=float(np.mean(sp.game_lengths)),
                      first_player_score=sp.first_player_score, resigned=sp.resigned,
                      false_resign_rate=sp.false_resigns / max(sp.playthroughs, 1),
                      selfplay_restarts=sp.restarts,
                      replay_size=len(loop.replay), evaluations=evaluations,
                      positions_labelled=labelled, **learner_stats,
                      **game_diversity([r.actions for r in records]))
        t0 = time.time()
        record.update(train(loop.candidate, loop.optimizer, loop.replay, cfg.trainer, gen, rng,
                            self._progress(gen, state, start, minutes_before),
                            self.settings.channels_last, loop.average, self.training.bf16))
        record["train_seconds"] = time.time() - t0
        state.train_steps += cfg.trainer.steps_per_generation
        played, best_net = loop.played, loop.best_net
        self._save(played, gen, kept_checkpoint(run_dir, gen))
        self._save(loop.candidate, gen, run_dir / PENDING_CANDIDATE, loop.optimizer)
        t0 = time.time()
        promote, result, reason = gate(game, self._player(played, "candidate"),
                                       self._player(best_net, "best"), cfg.arena,
                                       seed=int(rng.integers(2**31)))
        record.update(gate_seconds=time.time() - t0, gate_promoted=promote, gate_reason=reason)
        if result.games:  # no score where no gate ran
            record.update(gate_score=result.score, gate_games=result.games)
        state.last_gate = {"generation": gen, "promoted": promote, "reason": reason,
                           "result": result.describe()}
        if promote:
            best_net.load_state_dict(played.state_dict())
            self._save(best_net, gen, run_dir / "best.ckpt")
            state.best_generation = gen
        if state.best_generation > state.rated_generation and (
                gen % cfg.arena.rating_every == 0 or self._budget_spent(
                    state, start, minutes_before, gen)):
            state.elo = self._rate(best_net, state.elo, seed=int(rng.integers(2**31)))
            state.rated_generation = state.best_generation
            record.update(elo=state.elo, rating_games=rated_games(cfg.arena),
                          rating_simulations=cfg.arena.simulations)
        if loop.probe is not None:
            probe, reference = loop.probe
            measured, _ = measure(probe, self._evaluator(played.state_dict()), reference, game,
                                  getattr(loop.learner, "score", game.proxy_score))
            record.update(measured)
        state.generation = gen
        state.minutes = minutes_before + (time.time() - start) / 60
        record.update(minutes=state.minutes, games_total=state.games,
                      positions_total=state.positions,
                      evaluations_total=state.evaluations, train_steps_total=state.train_steps,
                      positions_labelled_total=state.positions_trained)
        self._write_metrics(loop.writer, record)
        state.save(run_dir / "state.json")  # the generation is complete once this lands
        os.replace(run_dir / PENDING_CANDIDATE, run_dir / CANDIDATE)
        self.log(f"gen {gen}: {sp.games} games {sp.positions} positions, loss "
                 f"{record['loss']:.3f} (policy {record['policy_loss']:.3f}, value "
                 f"{record['value_loss']:.3f}), gate {'PROMOTED' if promote else 'kept best'}"
                 f" [{result.describe()}]"
                 + (f"; {describe_ratings(state.elo, cfg.arena, state.rated_generation)}"
                    if state.elo else ""))

    def _write_sgf(self, generation: int, records) -> None:
        """The first pipeline.sgf_games self-play games of a generation as SGF files, for a
        game with an SGF form (engine/sgf.py); none for another."""
        from engine import sgf

        try:
            sgf.board(self.game)
        except sgf.SgfError:
            return
        folder = self.run_dir / "sgf" / f"gen_{generation:04d}"
        for i, record in enumerate(records[:self.config.pipeline.sgf_games]):
            sgf.save(self.game, sgf.selfplay_record(self.game, record, generation),
                     folder / f"game_{i:03d}.sgf")

    def _probe(self, start_net):
        """(the game's fixed probe positions, the start network's policy on them: the policy
        the KL divergence is measured from), or None for a game without a probe. The start
        policy is kept in probe_reference.npy, so a resumed run measures from the same one."""
        try:
            probe = strength_probe(self.game.name)
        except (OSError, KeyError):
            return None
        path = self.run_dir / "probe_reference.npy"
        if path.exists():
            return probe, np.load(path)
        start = kept_checkpoint(self.run_dir, 0)
        weights = (load_checkpoint(start, self.game.name).weights if start.exists()
                   else start_net.state_dict())
        _, reference = measure(probe, self._evaluator(weights))
        buf = io.BytesIO()
        np.save(buf, reference)
        atomic_write(path, buf.getvalue())
        return probe, reference

    def _budget_spent(self, state: RunState, start: float, minutes_before: float,
                      generation: int | None = None) -> str:
        """The budget setting that stops the run after `generation` (default: the last
        complete one), e.g. 'pipeline.generations'; '' while none is spent."""
        p = self.config.pipeline
        if p.generations and (generation or state.generation) >= p.generations:
            return "pipeline.generations"
        if p.evaluations and state.evaluations >= p.evaluations:
            return "pipeline.evaluations"
        if p.minutes and minutes_before + (time.time() - start) / 60 >= p.minutes:
            return "pipeline.minutes"
        return ""

    def _progress(self, generation: int, state: RunState, start: float,
                  minutes_before: float) -> float | None:
        """The share of the run's budget spent when `generation` trains (the largest of time,
        generations and evaluations: the last generation of a budget trains at 1), None
        without a budget."""
        p = self.config.pipeline
        shares = ([(generation - 1) / max(p.generations - 1, 1)] if p.generations else []) + (
            [(minutes_before + (time.time() - start) / 60) / p.minutes] if p.minutes else []) + (
            [state.evaluations / p.evaluations] if p.evaluations else [])
        return max(shares) if shares else None

    def _load_networks(self, state: RunState, device: torch.device):
        """(best network, candidate network, the candidate's optimizer), as the last complete
        generation left them. The candidate of a generation in progress waits in
        candidate.pending.ckpt (engine.rundir.settle_candidate). best.ckpt is written before
        state.json, so after a kill it may hold a later generation's network; it is then read
        from checkpoints/gen_NNNN.ckpt of its generation (the same network). A candidate.ckpt of
        a later generation (left by a version that wrote it before state.json) is read from
        there too, with fresh optimizer momentum (with trainer.ema_decay: from the average
        rather than the trained weights)."""
        cfg, game, run_dir = self.config, self.game, self.run_dir
        settle_candidate(run_dir, state.generation, game.name)
        best = build_network(game, cfg.network).to(device)
        candidate = build_network(game, cfg.network).to(device)
        candidate.load_state_dict(best.state_dict())
        optimizer = make_optimizer(candidate, cfg.trainer)
        if state.generation == 0 and not (run_dir / "best.ckpt").exists():
            if cfg.pipeline.init_checkpoint:  # a warm start
                best.load_state_dict(self._warm_start_weights())
                candidate.load_state_dict(best.state_dict())
            self._save(best, 0, run_dir / "best.ckpt")
            self._save(best, 0, kept_checkpoint(run_dir, 0))
        for net, name, generation in ((best, "best.ckpt", state.best_generation),
                                      (candidate, CANDIDATE, state.generation)):
            path = run_dir / name
            if not path.exists():
                continue
            ckpt = load_checkpoint(path, game.name)
            kept = kept_checkpoint(run_dir, generation)
            if ckpt.generation != generation and kept.exists():
                self.log(f"{name} is of generation {ckpt.generation}, which did not complete: "
                         f"going on from generation {generation}")
                ckpt = load_checkpoint(kept, game.name)
                atomic_write(path, ckpt.to_bytes())
            net.load_state_dict(ckpt.weights)
            if net is candidate and ckpt.optimizer:
                optimizer.load_state_dict(ckpt.optimizer)
        best.eval()
        return best, candidate, optimizer

    def _warm_start_weights(self) -> dict:
        """The weights of pipeline.init_checkpoint ('builtin': the shipped model; check_run
        has checked that it is of this game and network)."""
        spec = resolve_checkpoint(self.config.pipeline.init_checkpoint, self.game)
        return load_checkpoint(spec, self.game.name).weights

    def _load_average(self, candidate, state: RunState):
        """The moving average of the candidate's weights (None without trainer.ema_decay), as
        checkpoints/gen_NNNN.ckpt of the last complete generation holds it."""
        average = make_average(candidate, self.config.trainer)
        kept = kept_checkpoint(self.run_dir, state.generation)
        if average is not None and kept.exists():
            average.module.load_state_dict(load_checkpoint(kept, self.game.name).weights)
        return average

    def _save(self, net, generation: int, path: Path, optimizer=None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Checkpoint(self.game.name, generation, self.config.to_dict(),
                   _to_cpu(net.state_dict()),
                   _to_cpu(optimizer.state_dict()) if optimizer else None).save(path)

    def _evaluator(self, weights: dict):
        """An evaluator of a network with these weights, run with the run's inference settings."""
        return make_evaluator(self.game, self.config.network, weights, self.settings)

    def _player(self, net, name: str) -> SearchPlayer:
        search = replace(self.config.search, dirichlet_fraction=0.0,
                         simulations=self.config.arena.simulations)
        return SearchPlayer(self.game, self._evaluator(net.state_dict()), search, name)

    def _rate(self, net, last: dict, seed: int) -> dict:
        """Elo of a network against random play and the rung of the pure-MCTS ladder that the
        last rating (`last`: anchor name -> [elo, low, high]) points to."""
        a = self.config.arena
        rungs = ladder(a)
        rung = next_rung(rungs, {n: last[mcts_name(n)][0] for n in rungs if mcts_name(n) in last})
        anchors = [RandomPlayer(self.game, seed), mcts_player(self.game, rung, seed=seed)]
        player = self._player(net, "best")
        elo = {}
        for anchor in anchors:
            result = play_pairs(self.game, player, anchor, a.rating_games // 2,
                                a.opening_moves, seed)
            elo[anchor.name] = [round(x, 1) for x in result.elo()]
        return elo

    def _write_metrics(self, writer, record: dict) -> None:
        tblog.add_record(writer, record, self.config,
                         ["random", *map(mcts_name, ladder(self.config.arena))])
        path = self.run_dir / "metrics.jsonl"
        try:
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:  # a torn line is dropped on resume
            raise WriteError(e.errno, e.strerror or str(e), str(path)) from e
