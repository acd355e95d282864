"""`zeroplay export`: a checkpoint as ONNX or safetensors, to use the network outside zeroplay.

ONNX: the policy/value network, input `planes` [batch, C, H, W] float32 (the game's encoding,
from the mover's view), outputs `policy_logits` [batch, A] and `value` [batch]; the game, its
planes' shape and the checkpoint's config are in the model's metadata. It is run in onnxruntime
against torch on random positions before it is written. safetensors: the weights, with the same
metadata; engine.checkpoint.load_checkpoint reads it back, so it goes wherever --checkpoint does.
docs/export.md shows how to use each.
"""
from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import games
from engine.extras import require
from games import Game

FORMATS = {"onnx": ("onnx", "onnxscript", "onnxruntime"), "safetensors": ("safetensors",)}
INPUT, OUTPUTS = "planes", ("policy_logits", "value")
TOLERANCE = 1e-4  # largest difference allowed between onnxruntime's outputs and torch's
CHECK_GAMES = 64  # random games whose positions the ONNX model is checked on
ENCODING = ("planes: float32 [batch, C, H, W], the position as zeroplay's game.encode writes it "
            "(from the view of the player to move); policy_logits: [batch, A], set illegal "
            "moves to -inf and take the softmax; value: [batch], the mover's expected result "
            "from -1 (loss) to +1 (win)")


def add_export(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a checkpoint's network as ONNX or safetensors",
        description="Write the network of a checkpoint as ONNX (checked in onnxruntime against "
                    "torch on random positions before it is written) or safetensors (weights, "
                    "with the game and config as metadata; --checkpoint reads it back). "
                    'Needs pip install "zeroplay[export]"; docs/export.md shows how to use '
                    "each format.")
    p.add_argument("--checkpoint", required=True, metavar="FILE",
                   help="a checkpoint ('builtin' with --game: the model shipped for the game)")
    p.add_argument("--game", metavar="G", help=f"the game, for builtin (else it must match the "
                   f"checkpoint's); one of {', '.join(games.names())}")
    p.add_argument("--format", required=True, choices=sorted(FORMATS),
                   help="onnx: the network for onnxruntime; safetensors: its weights and config")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(run=run_export)


def run_export(args) -> int:
    from engine.checkpoint import atomic_write

    require_extra(args.format)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists: --force replaces it")
    game, ckpt = read_checkpoint(args.checkpoint, args.game)
    data, note = EXPORTERS[args.format](game, ckpt)
    atomic_write(out, data)
    print(f"wrote {out}: {game.name} generation {ckpt.generation} as {args.format}, "
          f"{len(data):,} bytes; {note}")
    return 0


def require_extra(fmt: str) -> None:
    """A ValueError saying what to install, unless the modules of `fmt` can be imported."""
    require("export", FORMATS[fmt], f"export --format {fmt}")


def read_checkpoint(spec: str, game_name: str | None):
    """(game, checkpoint) of --checkpoint ('builtin' needs the game), checked as every
    checkpoint is (engine.checkpoint)."""
    from engine.checkpoint import load_checkpoint
    from engine.players import resolve_checkpoint

    if spec == "builtin" and not game_name:
        raise ValueError("--checkpoint builtin needs --game G")
    game = games.get(game_name) if game_name else None
    ckpt = load_checkpoint(resolve_checkpoint(spec, game) if game else Path(spec),
                           game and game.name)
    return games.get(ckpt.game), ckpt


def metadata(game: Game, ckpt) -> dict[str, str]:
    """What both formats say of the network, as text: the checkpoint's game, generation and
    config (what load_checkpoint needs) and the shapes of its input and policy."""
    return {"game": ckpt.game, "generation": str(ckpt.generation),
            "config": json.dumps(ckpt.config), "planes": json.dumps(list(game.planes)),
            "actions": str(game.num_actions)}


def network(game: Game, ckpt):
    """The checkpoint's network, in eval mode on the CPU."""
    from engine.config import from_dict
    from engine.network import make_evaluator

    return make_evaluator(game, from_dict(ckpt.game, ckpt.config).network, ckpt.weights).net


def random_positions(game: Game, seed: int = 0) -> np.ndarray:
    """States [n, S] of the unfinished positions of CHECK_GAMES uniformly random games."""
    return game.random_positions(CHECK_GAMES, np.random.default_rng(seed))[0]


def encode(game: Game, states: np.ndarray) -> np.ndarray:
    """The network's input planes [n, C, H, W] float32 of states [n, S]."""
    planes = np.empty((len(states), *game.planes), np.float32)
    game.encode(states, planes)
    return planes


def to_onnx(game: Game, ckpt) -> tuple[bytes, str]:
    """The ONNX model's bytes (batch axis dynamic, metadata set), checked by check_onnx."""
    import onnx
    import torch

    net = network(game, ckpt)
    example = torch.zeros(2, *game.planes)  # 2: a batch of 1 would be taken as a constant
    with quiet("torch.onnx"):
        program = torch.onnx.export(net, (example,), input_names=[INPUT],
                                    output_names=list(OUTPUTS), verbose=False,
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    model = program.model_proto
    model.doc_string = ENCODING
    onnx.helper.set_model_props(model, metadata(game, ckpt))
    data = model.SerializeToString()
    difference, positions = check_onnx(data, net, game)
    return data, (f"onnxruntime matches torch on {positions:,} random positions (largest "
                  f"difference {difference:.1e})")


@contextmanager
def quiet(logger: str):
    """No warnings, and only errors from `logger`'s log, inside: the exporter's notes (such as
    'torchvision is not installed') are not the user's business."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def check_onnx(data: bytes, net, game: Game) -> tuple[float, int]:
    """(the largest difference, positions): the ONNX model against the torch network on random
    positions, in policy logits, legal-move probabilities and value; a ValueError over
    TOLERANCE."""
    import onnxruntime
    import torch

    from engine.network import masked_softmax

    states = random_positions(game)
    planes, masks = encode(game, states), torch.from_numpy(game.legal_masks(states))
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    theirs = [torch.from_numpy(x) for x in session.run(list(OUTPUTS), {INPUT: planes})]
    with torch.inference_mode():
        ours = net(torch.from_numpy(planes))
    probabilities = (masked_softmax(ours[0], masks), masked_softmax(theirs[0], masks))
    pairs = [*zip(ours, theirs), probabilities]
    difference = max(float((a - b).abs().max()) for a, b in pairs)
    if not difference <= TOLERANCE:  # nan too
        raise ValueError(f"the ONNX model differs from torch by {difference:.1e} (more than "
                         f"{TOLERANCE:g}) on random positions; nothing written")
    return difference, len(planes)


def to_safetensors(game: Game, ckpt) -> tuple[bytes, str]:
    """The weights as safetensors bytes (row-major: a trained network's may be channels-last),
    with metadata() as the file's metadata."""
    from safetensors.torch import save

    weights = {name: tensor.contiguous() for name, tensor in ckpt.weights.items()}
    return save(weights, metadata(game, ckpt)), "--checkpoint FILE reads it back"


EXPORTERS = {"onnx": to_onnx, "safetensors": to_safetensors}
