"""Checkpoints and atomic files.

A checkpoint file is `ZEROPLAY1 <sha256 of the rest>\\n` followed by a torch.save payload of plain
tensors and JSON text. The checksum is verified before torch reads anything, and torch reads with
weights_only=True, so a checkpoint never executes code.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

MAGIC = b"ZEROPLAY1 "


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, foreign or of another game or shape."""


class WriteError(OSError):
    """A file that cannot be written (disk full, no permission): names the file and why."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path so that a crash leaves either the old file or the new one; a failed
    write raises WriteError and leaves the old file."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise WriteError(e.errno, e.strerror or str(e), str(path)) from e


@dataclass
class Checkpoint:
    game: str
    generation: int
    config: dict  # the run's resolved config (Config.to_dict())
    weights: dict  # the network's state_dict
    optimizer: dict | None = None  # the trainer's optimizer state_dict, to resume exactly

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"game": self.game, "generation": self.generation, "config": self.config}
        torch.save({"meta": json.dumps(meta), "weights": self.weights,
                    "optimizer": self.optimizer}, buf)
        payload = buf.getvalue()
        return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload

    def save(self, path: Path) -> None:
        atomic_write(path, self.to_bytes())


def load_checkpoint(path: str | Path, game: str | None = None) -> Checkpoint:
    """Read and verify a checkpoint; with `game`, refuse one of another game."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    header, _, payload = data.partition(b"\n")
    if not header.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a zeroplay checkpoint")
    if hashlib.sha256(payload).hexdigest().encode() != header[len(MAGIC):]:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated (checksum mismatch)")
    try:
        content = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        meta = json.loads(content["meta"])
        ckpt = Checkpoint(meta["game"], int(meta["generation"]), meta["config"],
                          content["weights"], content.get("optimizer"))
    except Exception as e:  # noqa: BLE001 - any failure here means a bad file
        raise CheckpointError(f"checkpoint {path} cannot be loaded: {e}") from None
    if game is not None and ckpt.game != game:
        raise CheckpointError(f"checkpoint {path} is for {ckpt.game}, not {game}")
    return ckpt
