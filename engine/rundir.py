"""A run directory's own files: its lock, the checks made before it is touched, and the
validated schema of state.json and metrics.jsonl (every reader goes through RunState.load and
read_metrics, so a hand-edited or damaged file is one line naming it)."""
from __future__ import annotations

import fcntl
import json
import math
import os
import subprocess
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import games
from engine.checkpoint import CheckpointError, atomic_write, load_checkpoint, read_capped
from engine.config import Config, ConfigError, excerpt as _excerpt, from_dict, meaning_changes


class RunError(ValueError):
    """A run directory that cannot be used: locked, foreign, or of another config."""


MAX_STATE_BYTES = 1 << 20  # state.json, config.json
MAX_METRICS_BYTES = 256 << 20  # metrics.jsonl: a record per generation


def _short(reason, limit: int = 200) -> str:
    """An exception's reason in one line of at most `limit` characters."""
    text = " ".join((reason.strerror if isinstance(reason, OSError) and reason.strerror
                     else str(reason)).splitlines())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _number(value, where: str, lo: float = 0.0, integer: bool = False):
    """value if it is a finite number (an int where `integer`) >= lo, else a ValueError."""
    kind = int if integer else (int, float)
    if (isinstance(value, bool) or not isinstance(value, kind)
            or not math.isfinite(value) or value < lo):
        raise ValueError(f"{where} must be {'an integer' if integer else 'a finite number'}"
                         f" >= {lo:g}, not {_excerpt(value)}")
    return value


def _elo(value, where: str) -> dict:
    """anchor name -> [elo, low, high]: finite numbers (an interval end may be infinite)."""
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a table of anchor -> [elo, low, high], "
                         f"not {_excerpt(value)}")
    for name, triple in value.items():
        if (not isinstance(triple, list) or len(triple) != 3
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x)
                       for x in triple) or not math.isfinite(triple[0])):
            raise ValueError(f"{where}[{_excerpt(name)}] must be [elo, low, high], "
                             f"not {_excerpt(triple)}")
    return value


@dataclass
class RunState:
    generation: int = 0
    games: int = 0
    positions: int = 0
    best_generation: int = 0
    replay_shards: int | None = None  # shards of complete generations (later ones are dropped)
    minutes: float = 0.0
    last_gate: dict = field(default_factory=dict)
    elo: dict = field(default_factory=dict)  # anchor name -> [elo, low, high] of a best net
    rated_generation: int = 0  # the best network that `elo` rates
    evaluations: int = 0  # network evaluations spent in self-play (the research kit's budget)
    train_steps: int = 0  # SGD steps taken
    positions_trained: int = 0  # positions the learner labelled into the replay buffer

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(self.__dict__, indent=2).encode())

    def check(self) -> "RunState":
        """self, if every field holds a value of its domain; else a ValueError naming it."""
        for name in ("generation", "games", "positions", "best_generation", "rated_generation",
                     "evaluations", "train_steps", "positions_trained"):
            _number(getattr(self, name), name, integer=True)
        if self.replay_shards is not None:
            _number(self.replay_shards, "replay_shards", integer=True)
        _number(self.minutes, "minutes")
        if self.best_generation > self.generation or self.rated_generation > self.generation:
            raise ValueError("best_generation and rated_generation must be <= generation")
        gate = self.last_gate
        if not isinstance(gate, dict) or gate and not (
                isinstance(gate.get("generation"), int) and isinstance(gate.get("promoted"), bool)
                and isinstance(gate.get("reason"), str) and isinstance(gate.get("result"), str)):
            raise ValueError(f"last_gate must be empty or hold generation, promoted, reason and "
                             f"result, not {_excerpt(gate)}")
        _elo(self.elo, "elo")
        return self

    @classmethod
    def load(cls, path: Path) -> "RunState":
        try:
            data = json.loads(read_capped(path, MAX_STATE_BYTES))
            if not isinstance(data, dict):
                raise ValueError("not a JSON table")
            unknown = set(data) - {f.name for f in fields(cls)}
            if unknown:
                raise ValueError(f"unknown key {_excerpt(sorted(unknown)[0])}")
            return cls(**data).check()
        except (OSError, ValueError, TypeError) as e:
            raise RunError(f"{path} is unreadable or not a zeroplay run state: "
                           f"{_short(e)}") from None


METRIC_NUMBERS = ("games", "positions", "minutes", "selfplay_seconds", "train_seconds",
                  "gate_seconds", "games_per_s", "positions_per_s", "evaluations_per_s")


def check_metric(record) -> dict:
    """A metrics.jsonl record: a table with a `generation` >= 1, finite numbers >= 0 where the
    readers expect them, an `elo` of anchor -> [elo, low, high]; else a ValueError."""
    if not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON table, not {_excerpt(record)}")
    if "generation" not in record:
        raise ValueError("the record has no generation")
    _number(record["generation"], "generation", lo=1, integer=True)
    for key in METRIC_NUMBERS:
        if key in record:
            _number(record[key], key)
    for key in ("loss", "policy_loss", "value_loss", "gate_score"):
        if key in record and (isinstance(record[key], bool)
                              or not isinstance(record[key], (int, float))):
            raise ValueError(f"{key} must be a number, not {_excerpt(record[key])}")
    if "elo" in record:
        _elo(record["elo"], "elo")
    if "commit" in record and not isinstance(record["commit"], str):
        raise ValueError(f"commit must be text, not {_excerpt(record['commit'])}")
    return record


CODE_ROOT = Path(__file__).resolve().parent.parent  # the checkout this engine runs from, if any


def code_version(root: Path = CODE_ROOT) -> str | None:
    """The git commit of the code at root, "-dirty" appended where tracked files differ from
    it; None where root is not the top of a git checkout (an installed copy) or git is absent
    or fails."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args],
                              capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != Path(root).resolve():
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return git("rev-parse", "HEAD") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def read_metrics(path: Path) -> list[dict]:
    """The checked records of a run's metrics.jsonl ([] when there is none); a damaged file is
    a RunError naming it and its line. A torn last line (a kill mid-append) is dropped."""
    if not path.exists():
        return []
    try:
        text = read_capped(path, MAX_METRICS_BYTES).decode()
    except OSError as e:
        raise RunError(f"{path} is unreadable: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise RunError(f"{path} is not UTF-8 text (byte {e.start})") from None
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines) and not text.endswith("\n"):
                break  # torn by a kill during the append
            raise RunError(f"{path}:{number}: not a JSON record: {_excerpt(line)}") from None
        try:
            records.append(check_metric(record))
        except ValueError as e:
            raise RunError(f"{path}:{number}: not a zeroplay metrics record: {e}") from None
    return records


LOCK_TRIES = 5  # a `status` holds the lock for an instant: a train tries again meanwhile


class RunLock:
    """An exclusive lock on a run directory; the OS drops it when the process dies."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        for _ in range(LOCK_TRIES):
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                time.sleep(0.02)
        os.close(self.fd)
        raise RunError(f"{self.path.parent} is in use by another train process")

    @staticmethod
    def held(run_dir: Path) -> bool:
        """Whether a train process holds the lock of run_dir (tried for an instant, shared;
        nothing is written)."""
        try:
            fd = os.open(run_dir / "lock", os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # and with it the shared lock

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def read_config(run_dir: Path) -> Config:
    """The config a run was started with (its config.json), checked as a user's would be."""
    path = run_dir / "config.json"
    try:
        saved = json.loads(read_capped(path, MAX_STATE_BYTES))
        if not isinstance(saved, dict) or not isinstance(saved.get("game"), str):
            raise ValueError("no game")
        return from_dict(saved["game"], saved, origin=str(path))
    except (OSError, ValueError, ConfigError) as e:
        raise RunError(f"{path} is not a zeroplay config: {_short(e)}") from None


def check_run(run_dir: Path, config: Config) -> RunState:
    """Check that run_dir is new or belongs to this config, and read its state. Writes nothing."""
    config_path, state_path = run_dir / "config.json", run_dir / "state.json"
    if config_path.exists():
        old = read_config(run_dir)
        if old.game != config.game:
            raise RunError(f"{run_dir} is a {old.game} run, not {config.game}")
        changes = meaning_changes(old, config)
        if changes:
            raise RunError(f"{run_dir} was started with other settings; refusing to resume "
                           f"with: {'; '.join(changes)} (use a new --run-dir, or --set the "
                           f"run's own values)")
    elif run_dir.exists() and (not run_dir.is_dir() or any(
            p.name != "lock" and not _temporary(p.name) for p in run_dir.iterdir())):
        raise RunError(f"{run_dir} is not empty and holds no zeroplay run")
    # a new run has no complete generation: shards of one that was killed are dropped
    state = RunState.load(state_path) if state_path.exists() else RunState(replay_shards=0)
    read_metrics(run_dir / "metrics.jsonl")
    for path in (run_dir / "best.ckpt", run_dir / CANDIDATE, run_dir / PENDING_CANDIDATE,
                 *(kept_checkpoint(run_dir, g) for g in {state.generation,
                                                           state.best_generation})):
        if path.exists():
            check_network(path, config)
    warm_start = getattr(config.pipeline, "init_checkpoint", "")
    if warm_start and not (run_dir / "best.ckpt").exists():
        from engine.players import resolve_checkpoint  # 'builtin': the shipped model
        check_network(resolve_checkpoint(warm_start, games.get(config.game)), config)
    return state


def check_network(path: Path, config: Config) -> None:
    """CheckpointError unless `path` is a sound checkpoint (engine.checkpoint.check_contents)
    of the run's game and network shape: a resume reads them, so they are checked first."""
    ckpt = load_checkpoint(path, config.game)
    if from_dict(ckpt.game, ckpt.config).network != config.network:
        raise CheckpointError(f"checkpoint {path} holds a network of another shape than the "
                              f"run's config ({config.network})")


def kept_checkpoint(run_dir: Path, generation: int) -> Path:
    """The checkpoint kept for each generation: the network it gave the gate."""
    return run_dir / "checkpoints" / f"gen_{generation:04d}.ckpt"


CANDIDATE = "candidate.ckpt"  # the trainer's network and optimizer, of the last complete generation
# ... and of the generation in progress, until its state.json lands (then renamed CANDIDATE)
PENDING_CANDIDATE = "candidate.pending.ckpt"


def settle_candidate(run_dir: Path, generation: int, game: str) -> None:
    """Leave candidate.ckpt of the last complete generation (`generation`): a pending candidate
    of that generation (a kill came between its state.json and the rename) is moved into
    place; one of a generation that did not complete is dropped."""
    pending = run_dir / PENDING_CANDIDATE
    if not pending.exists():
        return
    if load_checkpoint(pending, game).generation == generation:
        os.replace(pending, run_dir / CANDIDATE)
    else:
        pending.unlink()


def _temporary(name: str) -> bool:
    """Whether name is an atomic_write temporary file: a kill while the first config was
    written leaves one, and no config."""
    return name.startswith(".") and name.endswith(".tmp")


def drop_temporaries(run_dir: Path) -> None:
    """Remove the temporary files that kills inside atomic_write left in a run directory (the
    files they were to replace are whole, old or new): a resumed run's directory holds what
    an unkilled one holds. Only under the run's lock."""
    for path in run_dir.rglob(".*.tmp"):
        if path.is_file() and _temporary(path.name):
            path.unlink(missing_ok=True)


def open_run(run_dir: Path, config: Config) -> RunState:
    """check_run, then create the directory and write the resolved config into it."""
    state = check_run(run_dir, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(run_dir / "config.json", config.to_json().encode())
    return state


def _trim_metrics(path: Path, generation: int) -> None:
    """Drop metrics of generations after the last complete one, and a torn last line."""
    if not path.exists():
        return
    kept = [json.dumps(r) for r in read_metrics(path) if r["generation"] <= generation]
    atomic_write(path, "".join(f"{line}\n" for line in kept).encode())


def _trim_events(tb_dir: Path, generation: int) -> None:
    """Drop the TensorBoard events of generations after the last complete one (their step is
    the generation; a redone generation logs them again) and a record torn by a kill, from
    every events file in tb_dir. The kept records are copied byte for byte (a TFRecord frame:
    length, its checksum, the Event, its checksum); a file is rewritten only if it loses one."""
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto.event_pb2 import Event

    if not tb_dir.is_dir():
        return
    for path in sorted(tb_dir.glob("events.out.tfevents.*")):
        data, kept, at, dropped = path.read_bytes(), [], 0, False
        while at + 12 <= len(data):
            end = at + 12 + int.from_bytes(data[at:at + 8], "little") + 4
            if end > len(data):
                break  # torn
            try:
                step = Event.FromString(data[at + 12:end - 4]).step
            except DecodeError:  # a damaged record: it and the rest are dropped
                break
            if step <= generation:
                kept.append(data[at:end])
            else:
                dropped = True
            at = end
        if dropped or at < len(data):
            atomic_write(path, b"".join(kept))
