"""Configuration: one frozen dataclass per component, per-game defaults in TOML files.

`load_config(game, file, overrides)` starts from engine/configs/<game>.toml, then a user file,
then `section.key=value` overrides; every key and type is checked and a mistake is a ConfigError
that names it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from mcts import SearchConfig

CONFIG_DIR = Path(__file__).parent / "configs"


class ConfigError(ValueError):
    """An unknown key, a wrong type or a bad value in a configuration."""


@dataclass(frozen=True)
class NetworkConfig:
    blocks: int = 5  # residual blocks
    channels: int = 64
    value_hidden: int = 64  # width of the value head's hidden layer


@dataclass(frozen=True)
class SelfPlayConfig:
    games_in_parallel: int = 128  # B: games searched together, one network call per step
    games_per_generation: int = 256
    temperature_moves: int = 8  # sample moves by visit share for this many moves, then argmax
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

    def __post_init__(self):
        if not 0.0 <= self.value_target_search <= 1.0:
            raise ValueError("selfplay.value_target_search must lie in [0, 1]")
        if self.random_opening_moves < 0:
            raise ValueError("selfplay.random_opening_moves must be >= 0")


@dataclass(frozen=True)
class ReplayConfig:
    window_min: int = 20_000  # positions kept at the start of a run
    window_max: int = 300_000  # positions kept at most
    window_growth: float = 0.5  # window grows by this many positions per new game position


@dataclass(frozen=True)
class TrainerConfig:
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

    def __post_init__(self):
        if self.lr_schedule not in ("step", "cosine"):
            raise ValueError("trainer.lr_schedule must be 'step' or 'cosine'")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("trainer.ema_decay must be in [0, 1)")


@dataclass(frozen=True)
class ArenaConfig:
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
    anchor_rollouts: int = 200  # simulations of the pure-MCTS anchor
    rating_every: int = 1  # rate a newly promoted network at most once per this many generations

    def __post_init__(self):
        if self.rating_every < 1:
            raise ValueError("arena.rating_every must be >= 1")


@dataclass(frozen=True)
class PipelineConfig:
    generations: int = 0  # stop after this many generations (0 = no limit)
    minutes: float = 0.0  # stop after this many minutes of wall time (0 = no limit)
    seed: int = 0
    threads: int = 0  # torch threads (0 = decide by measurement)
    workers: int = 1  # self-play processes, one torch thread each (1 = in the trainer's
    # process, 0 = one per core of this machine)
    device: str = "auto"  # where the network runs: "auto" (a CUDA GPU if torch sees one), "cpu",
    # "cuda" or "cuda:N"; self-play workers and the trainer share it


@dataclass(frozen=True)
class Config:
    game: str
    network: NetworkConfig = field(default_factory=NetworkConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    arena: ArenaConfig = field(default_factory=ArenaConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(Config) if f.name != "game"}
# settings that may change when a run is resumed: budgets and speed, not what is learned
RESUMABLE = {"pipeline.generations", "pipeline.minutes", "pipeline.threads", "pipeline.workers",
             "pipeline.device"}


def _check_type(where: str, default, value):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"config {where}: expected {type(default).__name__}, "
                          f"got {value!r}")
    return value


def _merge(base: dict, updates: dict, origin: str) -> None:
    for section, values in updates.items():
        if section == "game":
            continue
        if section not in SECTIONS:
            raise ConfigError(f"{origin}: unknown config section {section!r} "
                              f"(sections: {', '.join(SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table of settings")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{origin}: unknown config key {section}.{key} "
                                  f"(keys: {', '.join(base[section])})")
            base[section][key] = _check_type(f"{section}.{key}", base[section][key], value)


def parse_override(text: str) -> dict:
    """'section.key=value' -> {section: {key: value}}; the value is read as TOML, else text."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"bad --set {text!r}: expected section.key=value")
    name, raw = text.split("=", 1)
    section, key = name.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return {section: {key: value}}


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config {path} is not valid TOML: {e}") from None


def _build(game: str, layers) -> Config:
    base = {name: dataclasses.asdict(make()) for name, make in SECTIONS.items()}
    for layer, origin in layers:
        _merge(base, layer, origin)
    try:
        sections = {name: type(SECTIONS[name]())(**values) for name, values in base.items()}
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return Config(game=game, **sections)


def from_dict(game: str, data: dict, origin: str = "config") -> Config:
    """Build a Config for game from nested dicts (missing keys take the defaults)."""
    return _build(game, [(data, origin)])


def load_config(game: str, file: str | Path | None = None, overrides=()) -> Config:
    """The game's defaults, then `file`, then the `section.key=value` overrides."""
    default_file = CONFIG_DIR / f"{game}.toml"
    layers = [(_read_toml(default_file), str(default_file))] if default_file.exists() else []
    if file is not None:
        layers.append((_read_toml(Path(file)), str(file)))
    layers += [(parse_override(o), f"--set {o}") for o in overrides]
    return _build(game, layers)


def meaning_changes(old: Config, new: Config) -> list[str]:
    """Settings that differ between two configs and change what a run learns."""
    changes = []
    a, b = old.to_dict(), new.to_dict()
    for section in SECTIONS:
        for key in a[section]:
            if a[section][key] != b[section][key] and f"{section}.{key}" not in RESUMABLE:
                changes.append(f"{section}.{key}: {a[section][key]!r} -> {b[section][key]!r}")
    return changes
