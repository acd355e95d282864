"""Configuration: one frozen dataclass per component, per-game defaults in TOML files.

`load_config(game, file, overrides)` starts from engine/configs/<game>.toml, then a user file,
then `section.key=value` overrides; every key, type and value is checked against its domain
(DOMAINS: finite numbers in a range, or one of a few words) and a mistake is a ConfigError that
names it and where it was set.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import games
from mcts import SearchConfig

CONFIG_DIR = Path(__file__).parent / "configs"
MAX_CONFIG_BYTES = 1 << 20  # a config file larger than this is refused unread


class ConfigError(ValueError):
    """An unknown key, a wrong type or a bad value in a configuration."""


def clip(text: str, limit: int = 60) -> str:
    """text cut to `limit` characters: messages echo input, never a megabyte of it."""
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def excerpt(value, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters."""
    return clip(repr(value), limit)


@dataclass(frozen=True)
class Domain:
    """The values a setting may take: finite numbers from lo to hi (an end excluded where
    `open_lo`/`open_hi`), or one of `choices`, or text matching `pattern`."""

    lo: float | None = None
    hi: float | None = None
    open_lo: bool = False
    open_hi: bool = False
    choices: tuple = ()
    pattern: str | None = None  # text matching this regular expression, described as `label`
    label: str = ""

    def allows(self, value) -> bool:
        if self.choices:
            return value in self.choices
        if self.pattern:
            return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return True  # the type check speaks for booleans and text
        return (math.isfinite(value)
                and (self.lo is None or value > self.lo or (value == self.lo and not self.open_lo))
                and (self.hi is None or value < self.hi or (value == self.hi and not self.open_hi)))

    def describe(self, integer: bool) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.pattern:
            return self.label
        kind, lo, hi = "an integer" if integer else "a finite number", _num(self.lo), _num(self.hi)
        if self.hi is None:
            return f"{kind} {'>' if self.open_lo else '>='} {lo}"
        return f"{kind} in {'(' if self.open_lo else '['}{lo}, {hi}{')' if self.open_hi else ']'}"


def _num(x) -> str:
    return f"{int(x):,}" if x is not None and float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def span(lo, hi=None, open_lo=False, open_hi=False) -> Domain:
    return Domain(lo, hi, open_lo, open_hi)


def one_of(*choices: str) -> Domain:
    return Domain(choices=choices)


SIMULATIONS = 10_000_000  # search memory follows from it: see engine/limits.py
BIG = 1_000_000_000  # counts with no memory behind them (games, steps, minutes)
SHARE = span(0, 1)
# every setting's domain, checked with its type in load_config and from_dict, and when a
# section is built in Python; booleans have none (their type is their domain)
DOMAINS = {
    "network.blocks": span(1, 64), "network.channels": span(1, 1024),
    "network.value_hidden": span(1, 4096),
    "search.simulations": span(0, SIMULATIONS), "search.method": one_of("puct", "gumbel"),
    "search.leaves_per_tree": span(1, 256), "search.virtual_loss": span(0, 100),
    "search.c_init": span(0, 1e6), "search.c_base": span(0, 1e12, open_lo=True),
    "search.fpu_reduction": span(-2, 2), "search.dirichlet_fraction": SHARE,
    "search.dirichlet_alpha": span(0, 1e6), "search.gumbel_considered": span(1, 4096),
    "search.gumbel_c_visit": span(0, 1e6), "search.gumbel_c_scale": span(0, 1e6),
    "selfplay.games_in_parallel": span(1, 65536),
    "selfplay.games_per_generation": span(1, 10_000_000),
    "selfplay.temperature_moves": span(0, 10_000),
    "selfplay.temperature": span(0, 1000, open_lo=True), "selfplay.resign_threshold": span(-1, 1),
    "selfplay.resign_playthrough": SHARE, "selfplay.playout_cap_fraction": SHARE,
    "selfplay.fast_simulations": span(0, SIMULATIONS), "selfplay.value_target_search": SHARE,
    "selfplay.random_opening_moves": span(0, 10_000),
    "replay.window_min": span(1, 100_000_000), "replay.window_max": span(1, 100_000_000),
    "replay.window_growth": span(0, 1000),
    "trainer.batch_size": span(1, 65536), "trainer.steps_per_generation": span(1, BIG),
    "trainer.learning_rate": span(0, 100, open_lo=True),
    "trainer.lr_schedule": one_of("step", "cosine"),
    "trainer.lr_decay_generations": span(0, BIG), "trainer.lr_final": SHARE,
    "trainer.momentum": span(0, 1, open_hi=True), "trainer.weight_decay": span(0, 1),
    "trainer.value_weight": span(0, 1000), "trainer.ema_decay": span(0, 1, open_hi=True),
    "arena.gate": one_of("sprt", "threshold", "none"), "arena.max_games": span(1, BIG),
    "arena.threshold": SHARE, "arena.elo0": span(-4000, 4000), "arena.elo1": span(-4000, 4000),
    "arena.alpha": span(0, 1, True, True), "arena.beta": span(0, 1, True, True),
    "arena.simulations": span(0, SIMULATIONS), "arena.opening_moves": span(0, 10_000),
    "arena.rating_games": span(0, BIG), "arena.anchor_rollouts": span(1, SIMULATIONS),
    "arena.rating_every": span(1, BIG), "arena.ladder_rungs": span(1, 8),
    "arena.ladder_factor": span(2, 100),
    "learner.kind": one_of("alphazero", "star", "no_critic", "noisy_critic", "proxy_critic"),
    "learner.search_critic": one_of("auto", "exact", "none"),
    "learner.generator": one_of("policy", "search"),
    "learner.temperature": span(0, 1000, open_lo=True), "learner.hint": one_of("solver", "teacher"),
    "learner.teacher_simulations": span(1, SIMULATIONS), "learner.flip_probability": SHARE,
    "learner.proxy": one_of("feature", "reward_model"),
    "learner.reward_games": span(1, 10_000_000), "learner.reward_steps": span(1, BIG),
    "pipeline.generations": span(0, BIG), "pipeline.minutes": span(0, 1e8),
    "pipeline.evaluations": span(0, 10**15),
    "pipeline.init_checkpoint": Domain(pattern=r"[^\x00]{0,4096}",
                                       label="a checkpoint's path (empty: none)"),
    "pipeline.seed": span(0, 2**32 - 1), "pipeline.threads": span(0, 1024),
    "pipeline.precision": one_of("auto", "fp32", "bf16"),
    "pipeline.layout": one_of("auto", "contiguous", "channels_last"),
    "pipeline.workers": span(0, 1024),
    "pipeline.device": Domain(pattern=r"auto|cpu|cuda(:\d{1,3})?",
                              label="auto, cpu, cuda or cuda:N"),
    "pipeline.backend": one_of("processes", "local", "ray"),
    "pipeline.ray_address": Domain(pattern=r"([\w.\-]{1,253}:\d{1,5})?",
                                   label="HOST:PORT, or empty (a local cluster)"),
    "pipeline.ray_actor_cpus": span(0, 1024, open_lo=True), "pipeline.ray_actor_gpus": span(0, 64),
    "pipeline.sgf_games": span(0, 10_000_000),
}
# the learner options that belong to one learner each; the others (kind, search_critic, ...)
# are every learner's. Setting an option of another learner than `kind` is a ConfigError.
LEARNER_OPTIONS = {
    "star": ("generator", "temperature", "train_value", "rationalize", "hint",
             "teacher_simulations"),
    "noisy_critic": ("flip_probability",),
    "proxy_critic": ("proxy", "reward_games", "reward_steps"),
}
OWNER = {option: kind for kind, options in LEARNER_OPTIONS.items() for option in options}


def check_value(name: str, value, origin: str | None = None) -> None:
    """ConfigError unless `value` lies in the domain of setting `name` ("section.key")."""
    domain = DOMAINS.get(name)
    if domain is not None and not domain.allows(value):
        integer = isinstance(value, int) and not isinstance(value, bool)
        raise ConfigError(f"{origin + ': ' if origin else ''}{name} must be "
                          f"{domain.describe(integer)}, not {excerpt(value)}")


class Checked:
    """A config section that checks the type and domain of each of its values when it is
    built, from a file or in Python (an int given for a float becomes a float)."""

    section: ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            name, value = f"{self.section}.{f.name}", getattr(self, f.name)
            checked = _check_type(name, f.default, value, type(self).__name__)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
            check_value(name, checked, type(self).__name__)


@dataclass(frozen=True)
class NetworkConfig(Checked):
    section: ClassVar[str] = "network"
    blocks: int = 5  # residual blocks
    channels: int = 64
    value_hidden: int = 64  # width of the value head's hidden layer


@dataclass(frozen=True)
class SelfPlayConfig(Checked):
    section: ClassVar[str] = "selfplay"
    games_in_parallel: int = 128  # B: games searched together, one network call per step
    games_per_generation: int = 256
    temperature_moves: int = 8  # sample moves by visit share for this many moves, then argmax
    temperature: float = 1.0  # of those samples: policy ** (1 / temperature)
    resign_threshold: float = -1.0  # resign when the root value is below this (-1 = never)
    resign_playthrough: float = 0.1  # share of would-resign games played out to check
    playout_cap_fraction: float = 0.0  # KataGo: share of moves searched fully (0 = all full)
    fast_simulations: int = 0  # simulations of the other moves (not trained on)
    value_target_search: float = 0.0  # value target = (1-w) * game result + w * root search value
    # games still running when a generation has its games go on in the next generation (with
    # its network), so that every search step evaluates a full batch; else each generation
    # plays its own games to the end, in ever smaller batches
    carry_over: bool = True
    random_opening_moves: int = 0  # a game starts after 0..this many uniformly random moves


@dataclass(frozen=True)
class ReplayConfig(Checked):
    section: ClassVar[str] = "replay"
    window_min: int = 20_000  # positions kept at the start of a run
    window_max: int = 300_000  # positions kept at most
    window_growth: float = 0.5  # window grows by this many positions per new game position


@dataclass(frozen=True)
class TrainerConfig(Checked):
    section: ClassVar[str] = "trainer"
    batch_size: int = 256
    steps_per_generation: int = 200
    learning_rate: float = 0.01  # SGD with momentum
    # "step": divide by 10 every lr_decay_generations (0 = never); "cosine": anneal from
    # learning_rate to learning_rate * lr_final over the run's budget (pipeline.minutes or
    # pipeline.generations), so a budgeted run ends on small, sharpening steps
    lr_schedule: str = "step"
    lr_decay_generations: int = 0
    lr_final: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    value_weight: float = 1.0
    # > 0: the network that plays (self-play, gate, checkpoints/gen_NNNN.ckpt, best.ckpt) is an
    # exponential moving average of the trained weights, updated after every step with this decay
    # (0.998 over 150 steps keeps 74% of the last generation's average); 0: the trained weights
    ema_decay: float = 0.0


@dataclass(frozen=True)
class ArenaConfig(Checked):
    section: ClassVar[str] = "arena"
    gate: str = "sprt"  # "sprt", "threshold" (AlphaGo Zero's 55%) or "none" (always promote)
    max_games: int = 200
    threshold: float = 0.55
    elo0: float = 0.0  # SPRT: H0, candidate is no better than this
    elo1: float = 35.0  # SPRT: H1, candidate is this much better
    alpha: float = 0.05
    beta: float = 0.05
    simulations: int = 32  # search of both sides in arena games
    opening_moves: int = 2  # random opening moves before the match, for varied games
    rating_games: int = 64  # games against each anchor when rating a promoted generation
    anchor_rollouts: int = 200  # simulations of the pure-MCTS anchor (the ladder's lowest rung)
    rating_every: int = 1  # rate a newly promoted network at most once per this many generations
    # the pure-MCTS anchor is a ladder of this many rungs (1: a fixed anchor), of anchor_rollouts
    # * ladder_factor ** k simulations: each rating plays the rung of the last one, one higher
    # after a score of 75% or more against it, one lower after 25% or less
    ladder_rungs: int = 3
    ladder_factor: int = 4  # simulations of a rung over those of the rung below


@dataclass(frozen=True)
class LearnerConfig(Checked):
    """How finished self-play games become training targets (engine/learners/): the critic
    as a switch. Options other than `kind` and `search_critic` belong to one learner each
    (LEARNER_OPTIONS); setting another learner's option is an error. (A warm start is
    pipeline.init_checkpoint.)"""

    section: ClassVar[str] = "learner"
    kind: str = "alphazero"  # alphazero | star | no_critic | noisy_critic | proxy_critic
    # what the search sees at finished games: "exact" (the rules' result, and solver proofs),
    # "none" (the network's value there, no proofs: the tree carries no verdict), or "auto"
    # (exact for alphazero and star, none for the others, whose critic is not the result)
    search_critic: str = "auto"
    # star: the generator ("policy": the raw policy sampled at `temperature`; "search": the
    # configured search), value head trained on the results or not at all, rationalization
    generator: str = "policy"
    temperature: float = 1.0
    train_value: bool = True
    rationalize: bool = False
    hint: str = "solver"  # "solver" (where the game has one) or "teacher" (pure MCTS)
    teacher_simulations: int = 2000
    # noisy_critic: each game's result flipped (win <-> loss) with this probability
    flip_probability: float = 0.1
    # proxy_critic: "feature" (the game's hand-written proxy_score) or "reward_model" (a frozen
    # value network trained on `reward_games` labelled games of random play)
    proxy: str = "feature"
    reward_games: int = 200
    reward_steps: int = 300


@dataclass(frozen=True)
class PipelineConfig(Checked):
    section: ClassVar[str] = "pipeline"
    generations: int = 0  # stop after this many generations (0 = no limit)
    minutes: float = 0.0  # stop after this many minutes of wall time (0 = no limit)
    # stop once self-play has spent this many network evaluations (0 = no limit): the budget
    # that compares learners at equal compute
    evaluations: int = 0
    # a new run starts from this checkpoint's weights (same game and network), not from scratch
    init_checkpoint: str = ""
    seed: int = 0
    threads: int = 0  # torch threads (0 = decide by measurement)
    # the network's arithmetic in inference and training: "fp32", "bf16" (autocast), or "auto"
    # (measured at the start: the faster for inference; bf16 for training where it is faster
    # and its loss agrees with fp32's); metrics.jsonl records what each generation used
    precision: str = "auto"
    # the memory format of the network's tensors: "contiguous", "channels_last", or "auto"
    # (measured at the start: the faster)
    layout: str = "auto"
    workers: int = 1  # self-play processes (one torch thread each; 1 = in the trainer's
    # process) or Ray actors; 0 = one per core of this machine (Ray: one per ray_actor_cpus
    # of the cluster's CPUs)
    device: str = "auto"  # where the network runs: "auto" (a CUDA GPU if torch sees one), "cpu",
    # "cuda" or "cuda:N"; self-play workers and the trainer share it
    backend: str = "processes"  # where self-play runs: "processes" (`workers` processes on
    # this machine), "local" (in the trainer's process, whatever `workers` says) or "ray"
    # (`workers` actors on a Ray cluster, the extra zeroplay[ray]; docs/distributed.md)
    ray_address: str = ""  # ray: the cluster's head as HOST:PORT (empty: start a local cluster)
    ray_actor_cpus: float = 1.0  # ray: CPUs each self-play actor holds (its torch threads)
    ray_actor_gpus: float = 0.0  # ray: GPUs each actor holds (> 0: its network runs there)
    # self-play games of each generation written as SGF files, sgf/gen_NNNN/game_NNN.sgf, for
    # games whose moves are board points (Go, Gomoku; no file for the others); 0: none
    sgf_games: int = 2


@dataclass(frozen=True)
class Config:
    game: str
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    arena: ArenaConfig = field(default_factory=ArenaConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(Config) if f.name != "game"}
# settings that may change when a run is resumed: budgets, speed, the rating's ladder and the
# SGF sample, not what is learned
RESUMABLE = {"pipeline.generations", "pipeline.minutes", "pipeline.evaluations",
             "pipeline.threads", "pipeline.precision", "pipeline.layout", "pipeline.workers",
             "pipeline.device", "pipeline.backend", "pipeline.ray_address",
             "pipeline.ray_actor_cpus", "pipeline.ray_actor_gpus", "pipeline.sgf_games",
             "arena.ladder_rungs", "arena.ladder_factor"}


def _check_type(where: str, default, value, origin: str):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        try:
            value = float(value) if ok else value
        except OverflowError:  # an integer beyond any float: out of every domain
            value = math.inf
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{origin}: {where} must be {type(default).__name__}, "
                          f"not {excerpt(value)}")
    return value


def _merge(base: dict, updates: dict, origin: str, learner_set: dict) -> None:
    """Lay `updates` over `base`, checking each key, type and domain; learner_set collects the
    learner options the layer sets (option -> origin)."""
    if not isinstance(updates, dict):
        raise ConfigError(f"{origin}: a config is a table of sections, not {excerpt(updates)}")
    for section, values in updates.items():
        if section == "game":
            continue
        if section not in SECTIONS:
            raise ConfigError(f"{origin}: unknown config section {excerpt(section)} "
                              f"(sections: {', '.join(SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table of settings")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{origin}: unknown config key {section}.{clip(str(key))} "
                                  f"(keys: {', '.join(base[section])})")
            value = _check_type(f"{section}.{key}", base[section][key], value, origin)
            check_value(f"{section}.{key}", value, origin)
            base[section][key] = value
            if section == "learner" and key in OWNER:
                learner_set[key] = origin


def parse_override(text: str) -> dict:
    """'section.key=value' -> {section: {key: value}}; the value is read as TOML, else text."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"bad --set {excerpt(text)}: expected section.key=value")
    name, raw = text.split("=", 1)
    section, key = name.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except ValueError:  # not TOML (TOMLDecodeError), or an integer of thousands of digits
        value = raw.strip()
    return {section: {key: value}}


def _read_toml(path: Path) -> dict:
    from engine.checkpoint import read_capped

    try:
        return tomllib.loads(read_capped(path, MAX_CONFIG_BYTES, "config").decode())
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config {path} is not valid TOML: {e}") from None


def _build(game: str, layers, saved: tuple = ()) -> Config:
    """A Config from layers of (dict, origin); in the layers whose origin is in `saved`, a
    learner option of another learner is refused only where it differs from its default (a
    saved config holds them all)."""
    game = _game(game)
    base = {name: dataclasses.asdict(make()) for name, make in SECTIONS.items()}
    learner_set: dict = {}
    for layer, origin in layers:
        _merge(base, layer, origin, learner_set)
    kind, defaults = base["learner"]["kind"], dataclasses.asdict(LearnerConfig())
    for option, origin in learner_set.items():
        if OWNER[option] != kind and not (origin in saved
                                          and base["learner"][option] == defaults[option]):
            raise ConfigError(f"{origin}: learner.{option} is an option of {OWNER[option]}, "
                              f"not {kind}")
    try:
        sections = {name: type(SECTIONS[name]())(**values) for name, values in base.items()}
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return Config(game=game, **sections)


def _game(game) -> str:
    """The name of a registered game; else a ConfigError naming the known ones."""
    if not isinstance(game, str) or game not in games.names():
        raise ConfigError(f"config: unknown game {excerpt(game)}: known games are "
                          f"{', '.join(games.names())}")
    return game


def from_dict(game: str, data: dict, origin: str = "config") -> Config:
    """Build a Config for game from nested dicts (missing keys take the defaults), e.g. a
    saved config.json; checked as a user's config is."""
    return _build(game, [(data, origin)], saved=(origin,))


def resume_config(saved: Config, overrides=()) -> Config:
    """A run's own config (its config.json) with `section.key=value` overrides: the settings
    a resumed run goes on with."""
    overrides = [(parse_override(o), f"--set {clip(o)}") for o in overrides]
    origin = "the run's config.json"
    return _build(saved.game, [(saved.to_dict(), origin), *overrides], saved=(origin,))


def load_config(game: str, file: str | Path | None = None, overrides=(), layers=()) -> Config:
    """The game's defaults, then `file`, then `layers` ((nested dict, where it came from)
    pairs, e.g. an experiment's tables), then the `section.key=value` overrides."""
    game = _game(game)
    default_file = CONFIG_DIR / f"{game}.toml"
    files = [(_read_toml(default_file), str(default_file))] if default_file.exists() else []
    if file is not None:
        files.append((_read_toml(Path(file)), str(file)))
    overrides = [(parse_override(o), f"--set {clip(o)}") for o in overrides]
    return _build(game, [*files, *layers, *overrides])


def domain_table() -> str:
    """The settings and their domains as a markdown table (docs/reliability.md shows it)."""
    rows = ["| setting | default | domain |", "| --- | --- | --- |"]
    for section, make in SECTIONS.items():
        for key, default in dataclasses.asdict(make()).items():
            name = f"{section}.{key}"
            domain = DOMAINS.get(name)
            text = ("true or false" if isinstance(default, bool) else
                    domain.describe(isinstance(default, int)) if domain else "any")
            owner = f" ({OWNER[key]} only)" if section == "learner" and key in OWNER else ""
            rows.append(f"| `{name}` | `{json.dumps(default)}` | {text}{owner} |")
    return "\n".join(rows)


def meaning_changes(old: Config, new: Config) -> list[str]:
    """Settings that differ between two configs and change what a run learns."""
    changes = []
    a, b = old.to_dict(), new.to_dict()
    for section in SECTIONS:
        for key in a[section]:
            if a[section][key] != b[section][key] and f"{section}.{key}" not in RESUMABLE:
                changes.append(f"{section}.{key}: {a[section][key]!r} -> {b[section][key]!r}")
    return changes
