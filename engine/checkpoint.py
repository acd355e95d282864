"""Checkpoints and atomic files.

A checkpoint file is `ZEROPLAY1 <sha256 of the rest>\\n` followed by a torch.save payload of plain
tensors and JSON text. The checksum is verified before torch reads anything, and torch reads with
weights_only=True, so a checkpoint never executes code. Anyone can compute a checksum, so the
contents are checked too before a network is built from them: the config as a user's config is,
every tensor's name, shape (against that config's network), dtype and finiteness.

A safetensors file made by `zeroplay export` loads too: its weights, and the game, generation
and config in its metadata (META_KEYS as text), checked the same way.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

MAGIC = b"ZEROPLAY1 "
MAX_CHECKPOINT_BYTES = 8 << 30  # networks within the config's bounds are far smaller
META_KEYS = ("game", "generation", "config")  # what every checkpoint says of itself


def read_capped(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes; else an OSError whose
    strerror says why (a device such as /dev/zero, a FIFO or a directory is never read, and a
    FIFO is opened without waiting for a writer)."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"not a regular file (a {what} is read from a file)",
                          str(path))
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than a {what} may be ({limit / 2**20:,.0f} MiB)",
                      str(path))
    return data


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
    """Read and verify a checkpoint; with `game`, refuse one of another game. Its config and
    weights are checked (check_contents) before it is returned."""
    path = Path(path)
    try:
        data = read_capped(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    read = _torch_contents if data.startswith(MAGIC) else _safetensors_contents
    try:
        meta, weights, optimizer = read(data, path)
        if not isinstance(meta, dict) or not set(META_KEYS) <= set(meta):
            raise ValueError("its metadata is not a table of game, generation and config")
        ckpt = Checkpoint(meta["game"], meta["generation"], meta["config"], weights, optimizer)
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure here means a bad file
        raise CheckpointError(f"checkpoint {path} cannot be loaded: "
                              f"{_cut(str(e).splitlines()[0] if str(e) else type(e).__name__)}"
                              ) from None
    if game is not None and ckpt.game != game:
        name = ckpt.game if isinstance(ckpt.game, str) else repr(ckpt.game)
        raise CheckpointError(f"checkpoint {path} is for {_cut(name, 60)}, not {game}")
    try:
        check_contents(ckpt)
    except ValueError as e:
        raise CheckpointError(f"checkpoint {path}: {e}") from None
    return ckpt


def _torch_contents(data: bytes, path: Path) -> tuple:
    """(meta, weights, optimizer) of a zeroplay checkpoint file, its checksum verified."""
    header, _, payload = data.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != header[len(MAGIC):]:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated (checksum mismatch)")
    with warnings.catch_warnings():  # the one line of load_checkpoint says what is wrong, alone
        warnings.simplefilter("ignore")
        content = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    if not isinstance(content, dict) or not isinstance(content.get("meta"), str):
        raise ValueError("it holds no metadata")
    return json.loads(content["meta"]), content.get("weights"), content.get("optimizer")


def _safetensors_contents(data: bytes, path: Path) -> tuple:
    """(meta, weights, None) of a safetensors export; any other file is not a checkpoint."""
    try:
        from safetensors.torch import load
    except ImportError:
        hint = (' (reading safetensors needs pip install "zeroplay[export]")'
                if path.suffix == ".safetensors" else "")
        raise CheckpointError(f"{path} is not a zeroplay checkpoint{hint}") from None
    try:
        weights = load(data)
    except Exception:  # noqa: BLE001 - safetensors refuses anything but its own format
        raise CheckpointError(f"{path} is not a zeroplay checkpoint") from None
    size = int.from_bytes(data[:8], "little")  # the format: a header's length, then its JSON
    meta = json.loads(data[8:8 + size]).get("__metadata__") or {}
    if not set(META_KEYS) <= set(meta):
        raise CheckpointError(f"{path} is a safetensors file but not a zeroplay export (its "
                              f"metadata has no {', '.join(META_KEYS)})")
    generation = meta["generation"]
    return {"game": meta["game"], "config": json.loads(meta["config"]),
            "generation": int(generation) if generation.isascii() and generation.isdigit()
            else generation}, weights, None


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_contents(ckpt: Checkpoint) -> None:
    """ValueError naming the first thing in a checkpoint that is not what its network needs:
    the game, the generation, the config (checked as a user's config is), every weight's
    name, shape and dtype against the network the config builds, and finite values."""
    import games
    from engine.config import from_dict, excerpt
    from engine.network import build_network

    if not isinstance(ckpt.game, str) or ckpt.game not in games.names():
        raise ValueError(f"unknown game {excerpt(ckpt.game)}")
    if (isinstance(ckpt.generation, bool) or not isinstance(ckpt.generation, int)
            or ckpt.generation < 0):
        raise ValueError(f"the generation must be an integer >= 0, not "
                         f"{excerpt(ckpt.generation)}")
    if not isinstance(ckpt.config, dict) or not isinstance(ckpt.config.get("network"), dict):
        raise ValueError("it holds no network config")
    config = from_dict(ckpt.game, ckpt.config, origin="its config")
    with torch.device("meta"):  # shapes and dtypes only: no memory for the weights
        expected = build_network(games.get(ckpt.game), config.network).state_dict()
    weights = ckpt.weights
    if not isinstance(weights, dict):
        raise ValueError(f"its weights are not a table of tensors but {type(weights).__name__}")
    for name in weights:
        if name not in expected:
            raise ValueError(f"unknown tensor {excerpt(name)} for its network")
    for name, want in expected.items():
        tensor = weights.get(name)
        if tensor is None:
            raise ValueError(f"tensor {name} is missing")
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"{name} is not a tensor but {type(tensor).__name__}")
        if tensor.shape != want.shape:
            n = config.network
            raise ValueError(f"tensor {name} has shape {list(tensor.shape)}; its network "
                             f"({n.blocks} blocks of {n.channels} channels) needs "
                             f"{list(want.shape)}")
        if tensor.dtype != want.dtype:
            raise ValueError(f"tensor {name} is {tensor.dtype}, not {want.dtype}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"tensor {name} holds values that are not finite (NaN or inf)")
    if ckpt.optimizer is not None and not (
            isinstance(ckpt.optimizer, dict)
            and {"state", "param_groups"} <= set(ckpt.optimizer)):
        raise ValueError("its optimizer state is not an optimizer's state_dict")
