"""`zeroplay export`: ONNX run in onnxruntime matches the torch network, a safetensors export
plays exactly as its checkpoint wherever --checkpoint goes, and bad input is one line with
nothing written."""
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import games
from commands import exit_status
from engine.checkpoint import CheckpointError, load_checkpoint
from engine.export import (TOLERANCE, check_onnx, encode, metadata, network,
                           random_positions)
from engine.players import network_player, resolve_checkpoint

onnxruntime = pytest.importorskip("onnxruntime")
safetensors_torch = pytest.importorskip("safetensors.torch")

ROOT = Path(__file__).resolve().parents[1]
GAMES = ["tictactoe", "connect4"]


def builtin(name: str):
    game = games.get(name)
    return game, load_checkpoint(resolve_checkpoint("builtin", game), name)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(game, format) -> the builtin model exported by the command line, in a directory that
    was its working directory and holds nothing else."""
    files = {}
    for name in GAMES:
        for fmt, suffix in [("onnx", "onnx"), ("safetensors", "safetensors")]:
            folder = tmp_path_factory.mktemp(f"{name}_{fmt}")
            out = folder / f"model.{suffix}"
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(folder)
                assert exit_status("export", "--checkpoint", "builtin", "--game", name,
                                "--format", fmt, "--out", str(out)) == 0
            assert list(folder.iterdir()) == [out]  # no exporter's leftovers
            files[name, fmt] = out
    return files


def masked_softmax(logits: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """What a user of the ONNX model does with its logits (docs/export.md)."""
    logits = np.where(masks, logits, -np.inf)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", GAMES)
def test_onnx_export_in_onnxruntime_matches_the_torch_network(exported, name):
    game, ckpt = builtin(name)
    session = onnxruntime.InferenceSession(str(exported[name, "onnx"]))
    (planes_input,) = session.get_inputs()
    assert planes_input.name == "planes" and planes_input.type == "tensor(float)"
    assert isinstance(planes_input.shape[0], str) and planes_input.shape[1:] == list(game.planes)
    assert [o.name for o in session.get_outputs()] == ["policy_logits", "value"]
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta["game"], json.loads(meta["planes"])) == (name, list(game.planes))
    assert json.loads(meta["config"]) == ckpt.config and meta["generation"] == str(ckpt.generation)

    evaluator = network_player(game, "builtin", 0).evaluate  # what the search sees
    states = random_positions(game, seed=7)
    masks = game.legal_masks(states)
    priors, values = evaluator(states, masks)
    with torch.inference_mode():
        torch_logits = evaluator.net(torch.from_numpy(encode(game, states)))[0].numpy()
    for batch in (states, states[:1]):  # the batch axis is dynamic
        logits, value = session.run(None, {"planes": encode(game, batch)})
        n = len(batch)
        assert np.abs(logits - torch_logits[:n]).max() <= TOLERANCE
        assert np.abs(masked_softmax(logits, masks[:n]) - priors[:n]).max() <= TOLERANCE
        assert np.abs(value - values[:n]).max() <= TOLERANCE


def test_the_onnx_check_refuses_a_model_that_differs_from_its_network(exported):
    game, ckpt = builtin("tictactoe")
    data = exported["tictactoe", "onnx"].read_bytes()
    net = network(game, ckpt)
    difference, positions = check_onnx(data, net, game)
    assert 0 <= difference <= TOLERANCE and positions > 100
    with torch.no_grad():
        net.value_head[-2].bias += 1e-3  # the value moves by about 1e-3
    with pytest.raises(ValueError, match="differs from torch by"):
        check_onnx(data, net, game)


@pytest.mark.parametrize("name", GAMES)
def test_a_safetensors_export_loads_back_as_its_checkpoint_and_plays_the_same(exported, name):
    game, ckpt = builtin(name)
    path = exported[name, "safetensors"]
    loaded = load_checkpoint(path, name)
    assert (loaded.game, loaded.generation, loaded.config) == (ckpt.game, ckpt.generation,
                                                               ckpt.config)
    assert loaded.weights.keys() == ckpt.weights.keys()
    assert all(torch.equal(loaded.weights[k], w) for k, w in ckpt.weights.items())

    states = random_positions(game, seed=3)
    masks = game.legal_masks(states)
    ours = network_player(game, path, 0).evaluate(states, masks)
    theirs = network_player(game, "builtin", 0).evaluate(states, masks)
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))  # bit for bit

    few = states[::max(1, len(states) // 12)]
    moves = [network_player(game, spec, 48, seed=5).choose(few) for spec in (path, "builtin")]
    assert np.array_equal(*moves)


def test_a_safetensors_export_goes_wherever_checkpoint_does(exported, capsys, monkeypatch):
    path = str(exported["connect4", "safetensors"])
    outputs = []
    for spec in (path, "builtin"):
        monkeypatch.setattr(sys, "stdin", io.StringIO("4453\n44\n\n"))
        assert exit_status("bestmove", "--game", "connect4", "--checkpoint", spec,
                        "--simulations", "32", "--json") == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") == 3
    # the same network's raw policy against itself, colours swapped: exactly half the points
    assert exit_status("evaluate", "--game", "connect4", f"net:{path}:0", "net:builtin:0",
                    "--games", "4", "--json") == 0
    assert json.loads(capsys.readouterr().out)["score"] == 0.5


def test_a_safetensors_export_warm_starts_a_run(exported, tmp_path):
    path = exported["tictactoe", "safetensors"]
    tiny = ["selfplay.games_per_generation=16", "selfplay.games_in_parallel=16",
            "search.simulations=8", "trainer.steps_per_generation=5", "trainer.batch_size=32",
            "arena.max_games=2", "arena.simulations=4", "arena.rating_games=2",
            "arena.anchor_rollouts=4", "pipeline.threads=1", "pipeline.workers=1",
            f"pipeline.init_checkpoint={path}"]
    assert exit_status("train", "--game", "tictactoe", "--run-dir", str(tmp_path / "run"),
                    "--quiet", "--generations", "1",
                    *[arg for setting in tiny for arg in ("--set", setting)]) == 0
    start = load_checkpoint(tmp_path / "run" / "checkpoints" / "gen_0000.ckpt").weights
    assert all(torch.equal(start[k], w) for k, w in load_checkpoint(path).weights.items())


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def refused(capsys, folder: Path, args, named: str) -> None:
    """The export command ends with one line on stderr naming `named`, and `folder` as it was."""
    before = snapshot(folder)
    status = exit_status("export", *args)
    out, err = capsys.readouterr()
    assert status not in (0, None), out
    assert len(err.splitlines()) == 1 and err.startswith("zeroplay") and "Traceback" not in err
    assert named in err, err
    assert snapshot(folder) == before


@pytest.mark.parametrize("args, named", [
    (["--checkpoint", "builtin", "--game", "tictactoe", "--format", "pdf", "--out", "x.pdf"],
     "invalid choice: 'pdf'"),
    (["--checkpoint", "builtin", "--format", "onnx", "--out", "x.onnx"], "needs --game"),
    (["--checkpoint", "builtin", "--game", "chess", "--format", "onnx", "--out", "x.onnx"],
     "unknown game"),
    (["--checkpoint", "missing.ckpt", "--format", "safetensors", "--out", "x.safetensors"],
     "cannot read checkpoint missing.ckpt"),
    (["--checkpoint", "notes.txt", "--format", "onnx", "--out", "x.onnx"],
     "notes.txt is not a zeroplay checkpoint"),
    (["--checkpoint", "plain.safetensors", "--format", "onnx", "--out", "x.onnx"],
     "plain.safetensors is a safetensors file but not a zeroplay export"),
    (["--checkpoint", str(ROOT / "engine/models/connect4.ckpt"), "--game", "tictactoe",
      "--format", "safetensors", "--out", "x.safetensors"], "not tictactoe"),
    (["--checkpoint", "builtin", "--game", "tictactoe", "--format", "safetensors", "--out",
      "notes.txt"], "notes.txt exists: --force replaces it"),
    (["--checkpoint", "builtin", "--game", "tictactoe", "--format", "safetensors", "--out",
      "no/such/dir/x.safetensors"], "cannot write no/such/dir/x.safetensors"),
    (["--checkpoint", "builtin", "--game", "tictactoe", "--format", "safetensors", "--out",
      "folder", "--force"], "cannot write folder"),
    (["--checkpoint", "builtin", "--game", "tictactoe", "--format", "onnx", "--out",
      "no/such/dir/x.onnx"], "cannot write no/such/dir/x.onnx"),  # after the export and check
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, monkeypatch, args, named):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a network\n")
    (tmp_path / "folder").mkdir()
    safetensors_torch.save_file({"w": torch.zeros(2)}, tmp_path / "plain.safetensors")
    refused(capsys, tmp_path, args, named)


def test_force_replaces_an_existing_file(tmp_path, capsys):
    out = tmp_path / "model.safetensors"
    out.write_text("old")
    assert exit_status("export", "--checkpoint", "builtin", "--game", "tictactoe", "--format",
                    "safetensors", "--out", str(out), "--force") == 0
    assert f"wrote {out}: tictactoe generation" in capsys.readouterr().out
    assert load_checkpoint(out, "tictactoe").generation == builtin("tictactoe")[1].generation


@pytest.mark.parametrize("fmt, missing", [("onnx", "onnxruntime"),
                                          ("safetensors", "safetensors")])
def test_a_missing_extra_is_named_before_any_work(capsys, tmp_path, monkeypatch, fmt, missing):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == missing else find_spec(name, *a))
    refused(capsys, tmp_path, ["--checkpoint", "missing.ckpt", "--format", fmt, "--out",
                               str(tmp_path / "x")], f'needs {missing}, not installed: '
                                                     f'pip install "zeroplay[export]"')


def forge(path: Path, change) -> Path:
    """The tic-tac-toe model as a safetensors export, its weights and metadata changed."""
    game, ckpt = builtin("tictactoe")
    weights = {k: v.contiguous() for k, v in ckpt.weights.items()}
    meta = metadata(game, ckpt)
    change(weights, meta)
    safetensors_torch.save_file(weights, path, meta)
    return path


HOSTILE = [  # (change to the weights and metadata, what the one line names)
    (lambda w, m: m.pop("config"), "not a zeroplay export (its metadata has no game"),
    (lambda w, m: m.update(generation="-1"), "the generation must be an integer >= 0"),
    (lambda w, m: m.update(generation="١٢"), "the generation must be an integer >= 0"),
    (lambda w, m: m.update(config="{"), "cannot be loaded"),
    (lambda w, m: m.update(config="[]"), "no network config"),
    (lambda w, m: m.update(game="chess"), "unknown game 'chess'"),
    (lambda w, m: m.update(game="connect4"), "policy_head.4.weight has shape [9, 18]"),
    (lambda w, m: w["stem.0.weight"].fill_(float("nan")), "stem.0.weight holds values that"),
    (lambda w, m: w.update({"stem.0.weight": torch.zeros(3)}), "stem.0.weight has shape [3]"),
    (lambda w, m: w.update(extra=torch.zeros(1)), "unknown tensor 'extra'"),
    (lambda w, m: w.pop("stem.1.bias"), "tensor stem.1.bias is missing"),
    (lambda w, m: w.update({"stem.1.bias": w["stem.1.bias"].double()}), "is torch.float64"),
]


@pytest.mark.parametrize("change, named", HOSTILE)
def test_a_damaged_safetensors_export_is_refused_in_one_line(tmp_path, change, named):
    path = forge(tmp_path / "x.safetensors", change)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert len(str(error.value).splitlines()) == 1
    assert str(path) in str(error.value) and named in str(error.value), str(error.value)


def test_without_safetensors_installed_a_safetensors_file_says_what_to_install(
        exported, monkeypatch):
    path = exported["tictactoe", "safetensors"]
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)  # import fails
    with pytest.raises(CheckpointError, match=re.escape('needs pip install "zeroplay[export]"')):
        load_checkpoint(path)


def test_a_truncated_safetensors_export_is_not_a_checkpoint(exported, tmp_path):
    data = exported["tictactoe", "safetensors"].read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 9, 0):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=re.escape(f"{path} is not a zeroplay")):
            load_checkpoint(path)


def test_the_python_in_docs_export_md_runs_and_its_encoding_is_the_game_s(exported, tmp_path,
                                                                         monkeypatch, capsys):
    """docs/export.md's Python blocks, run in turn beside the Connect Four exports; its
    encoding written out gives the planes of game.encode."""
    for fmt in ("onnx", "safetensors"):
        (tmp_path / f"model.{fmt}").write_bytes(exported["connect4", fmt].read_bytes())
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs/export.md").read_text(), re.S)
    assert len(blocks) == 4
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/export.md", "exec"), namespace)
    assert capsys.readouterr().out.count("\n") >= 4
    game = games.get("connect4")
    for moves in ["", "4", "4453", "1122334", "444444"]:
        assert np.array_equal(namespace["connect4_planes"](moves),
                              encode(game, game.position(moves)[None])[0]), moves
