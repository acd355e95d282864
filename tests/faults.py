"""Faults for the crash and write-failure tests, and the checks a run directory must pass after one.

`python tests/faults.py SPEC ARGS...` runs `engine.cli.main(ARGS)`, as `python -m engine` does,
with the fault that the JSON object SPEC describes:

    {"phase": P, "nth": N, "delay": S}  SIGKILL this process S seconds after the Nth entry of
                                        phase P (one of PHASES)
    {"write": R, "nth": N, "cut": F}    SIGKILL it in the Nth atomic write of a file whose name
                                        matches the regex R, once the temporary file is written,
                                        cut to the fraction F of its length, and not yet renamed
    {"write": R, "nth": N, "errno": E}  that write fails with OSError(E) (see WriteFault)
    "generation": G                     (with a phase or a write) count the entries or writes
                                        of generation G only (the generation the run works on)
    "marker": FILE                      (with any of them) append each phase entered to FILE, to
                                        report where a kill landed, and "fired: ..." right
                                        before the fault kills (the test checks that it did)
"""
from __future__ import annotations

import errno
import functools
import json
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from engine.checkpoint import load_checkpoint
from engine.pipeline import RunState
from engine.replay import SHARD

PHASES = ("selfplay", "shard", "train", "checkpoint", "gate", "promotion", "rating", "state")
GEN_CKPT = re.compile(r"^gen_(\d{4})\.ckpt$")
# a temporary file of engine.checkpoint.atomic_write: .NAME.XXXXXXXX.tmp
TMP = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")
REAL = {".": re.compile(r"^(config\.json|state\.json|inference\.json|best\.ckpt|candidate\.ckpt"
                        r"|candidate\.pending\.ckpt|metrics\.jsonl|probe_reference\.npy|lock)$"),
        "checkpoints": GEN_CKPT, "replay": SHARD, "tb": re.compile(r"^events\.out\.tfevents\.")}


def sigkill(fired: str = "") -> None:
    """SIGKILL this process; with `fired`, first mark that the fault fired (and where)."""
    if fired:
        mark(f"fired: {fired}")
    os.kill(os.getpid(), signal.SIGKILL)


class WriteFault:
    """On the nth atomic write of a file whose name fully matches `pattern`: with `errno`, fail
    it as the OS would (EACCES when the temporary file is created, others when its data is
    synced); without, cut the written temporary file to the fraction `cut` and SIGKILL."""

    def __init__(self, pattern: str, nth: int = 1, errno: int | None = None, cut: float = 0.5,
                 generation: int | None = None):
        self.pattern, self.nth, self.errno, self.cut = re.compile(pattern), nth, errno, cut
        self.generation = generation  # count the writes of this generation only
        self.seen, self.fd, self.name = 0, None, None
        self.real_mkstemp, self.real_fsync = tempfile.mkstemp, os.fsync

    def install(self, setattr=setattr) -> None:
        """Hook tempfile.mkstemp and os.fsync (pass monkeypatch.setattr to undo it after a test)."""
        setattr(tempfile, "mkstemp", self.mkstemp)
        setattr(os, "fsync", self.fsync)

    def mkstemp(self, *args, **kwargs):
        name = (kwargs.get("prefix") or "")[1:-1]  # atomic_write's prefix is ".NAME."
        if self.pattern.fullmatch(name) and self.generation in (None, _generation[0]):
            self.seen += 1
            if self.seen == self.nth:
                mark(f"writing {name}")
                self.name = name
                if self.errno == errno.EACCES:
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                self.fd, tmp = self.real_mkstemp(*args, **kwargs)
                return self.fd, tmp
        return self.real_mkstemp(*args, **kwargs)

    def fsync(self, fd) -> None:
        if fd != self.fd:
            return self.real_fsync(fd)
        self.fd = None
        if self.errno:
            raise OSError(self.errno, os.strerror(self.errno))
        os.ftruncate(fd, int(os.fstat(fd).st_size * self.cut))
        sigkill(f"writing {self.name} in generation {_generation[0]}")


_marker: Path | None = None
_entries: dict = {}
_generation = [0]  # the generation the pipeline works on (0: before the first)


def mark(text: str) -> None:
    if _marker:
        with open(_marker, "a") as f:
            f.write(text + "\n")


def _phase_points():
    """(owner, attribute, phase): the pipeline's entry into each of PHASES."""
    from engine import backends, pipeline, replay
    return [(backends.LocalSelfPlay, "play", "selfplay"), (replay.ReplayBuffer, "add", "shard"),
            (pipeline, "train", "train"), (pipeline.Pipeline, "_save", None),
            (pipeline, "gate", "gate"), (pipeline.Pipeline, "_rate", "rating"),
            (pipeline.RunState, "save", "state")]


def _enter(phase: str, spec: dict) -> None:
    mark(phase)
    if spec.get("generation") not in (None, _generation[0]):
        return
    _entries[phase] = _entries.get(phase, 0) + 1
    if spec.get("phase") == phase and _entries[phase] == spec["nth"]:
        threading.Timer(spec["delay"], sigkill,
                        [f"{phase} (entry {spec['nth']}) + {spec['delay']:.3f} s, in "
                         f"generation {_generation[0]}"]).start()


def _track_generation() -> None:
    """Keep _generation up to date: Pipeline._generation(loop, state, ...) makes generation
    state.generation + 1."""
    from engine import pipeline
    real = pipeline.Pipeline._generation

    def generation(self, loop, state, *args, **kwargs):
        _generation[0] = state.generation + 1
        return real(self, loop, state, *args, **kwargs)
    pipeline.Pipeline._generation = functools.wraps(real)(generation)


def install(spec: dict) -> None:
    """Mark every phase entered, and arm the fault of `spec` (see the module docstring)."""
    global _marker
    _marker = spec.get("marker") and Path(spec["marker"])
    mark("startup")
    for owner, name, phase in _phase_points():
        def wrapper(*args, _real=getattr(owner, name), _phase=phase, **kwargs):
            # Pipeline._save(net, generation, path, ...): best.ckpt is the promotion
            p = _phase or ("promotion" if args[3].name == "best.ckpt" else "checkpoint")
            _enter(p, spec)
            result = _real(*args, **kwargs)
            mark(f"after {p}")
            return result
        setattr(owner, name, functools.wraps(getattr(owner, name))(wrapper))
    _track_generation()
    if "write" in spec:
        WriteFault(spec["write"], spec["nth"], spec.get("errno"), spec.get("cut", 0.5),
                   spec.get("generation")).install()


def marks(marker: Path) -> list[str]:
    return marker.read_text().splitlines() if marker.exists() else []


def last_mark(marker: Path) -> str:
    """The last phase entered (or left) before the process died."""
    lines = [line for line in marks(marker) if not line.startswith("fired: ")]
    return lines[-1] if lines else "before startup"


def fired(marker: Path) -> str | None:
    """Where the fault fired ("fired: WHERE" marked right before the kill), or None."""
    lines = [line for line in marks(marker) if line.startswith("fired: ")]
    return lines[-1][len("fired: "):] if lines else None


def check_run_dir(run_dir: Path, game: str = "tictactoe") -> RunState:
    """Check that a run directory, however it was stopped, holds only loadable files, with
    half-written ones under hidden temporary names only, and that its state's counts match its
    replay shards, metrics and checkpoints; return the state."""
    for path in run_dir.rglob("*"):
        if path.is_file() and not TMP.match(path.name):
            where = "." if path.parent == run_dir else path.parent.name
            assert where in REAL and REAL[where].match(path.name), f"unexpected file {path}"
    state = (RunState.load(run_dir / "state.json") if (run_dir / "state.json").exists()
             else RunState(replay_shards=0))
    if (run_dir / "config.json").exists():
        json.loads((run_dir / "config.json").read_text())
    for path in [run_dir / "best.ckpt", run_dir / "candidate.ckpt",
                 *run_dir.glob("checkpoints/gen_*.ckpt")]:
        if path.exists():
            ckpt = load_checkpoint(path, game)
            match = GEN_CKPT.match(path.name)
            assert not match or ckpt.generation == int(match.group(1)), path
    for gen in range(1, state.generation + 1):
        assert (run_dir / "checkpoints" / f"gen_{gen:04d}.ckpt").exists(), gen
    positions, numbers = 0, []
    for path in run_dir.glob("replay/shard_*.npz"):
        with np.load(path) as data:
            assert len(data["states"]) == len(data["policies"]) == len(data["values"]) > 0
            if int(SHARD.match(path.name).group(1)) < state.replay_shards:
                positions += len(data["values"])
                numbers.append(int(SHARD.match(path.name).group(1)))
    if sorted(numbers) == list(range(state.replay_shards)):  # none outside the window yet
        assert positions == state.positions_trained == state.positions, (positions, state)
    else:  # the oldest were pruned: the rest are the last shards, and fewer positions
        assert sorted(numbers) == list(range(min(numbers), state.replay_shards)), numbers
        assert positions < state.positions_trained, (positions, state)
    if (run_dir / "metrics.jsonl").exists():
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
        records = []
        for i, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except ValueError:
                assert i == len(lines) - 1, f"torn metrics line {i + 1} is not the last"
        # an incomplete generation may have logged its record before the state landed
        generations = [r["generation"] for r in records]
        assert generations in (list(range(1, state.generation + 1)),
                               list(range(1, state.generation + 2))), (generations, state)
        complete = records[:state.generation]
        assert sum(r["games"] for r in complete) == state.games, state
        assert sum(r["positions"] for r in complete) == state.positions, state
    return state


if __name__ == "__main__":
    install(json.loads(sys.argv[1]))
    from engine.cli import main
    sys.exit(main(sys.argv[2:]))
