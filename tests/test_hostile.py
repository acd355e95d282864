"""Bad input, as a hostile user gives it: every cause of issue 17 has cases here. A command's
bad input must end with one line on stderr that names the input, a non-zero exit status, no
traceback, and a run directory byte-for-byte unchanged (or never created); the Python API raises
one error whose one-line message names it. The slow suite repeats the generated cases at scale.

Causes: values in the type but out of the domain (config fields and options), a training step
that diverges, sizes that follow from input (search memory, standard input, files that are not
regular or too large), checkpoint contents, run-state files, messages, and the envs' actions.
"""
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import games
from commands import exit_status
from engine import cli
from engine.checkpoint import MAGIC, Checkpoint, CheckpointError, load_checkpoint
from engine.cli import main
from engine.config import (DOMAINS, LEARNER_OPTIONS, SECTIONS, ConfigError, TrainerConfig,
                           domain_table, load_config)
from engine.limits import ResourceError, search_bytes
from engine.network import build_network
from engine.players import network_player, parse_player
from engine.trainer import TrainingDiverged, check_finite
from games import GameError
from games.env import GameEnv

ROOT = Path(__file__).resolve().parents[1]
GAME = games.get("tictactoe")
TINY = ["selfplay.games_per_generation=16", "selfplay.games_in_parallel=16",
        "search.simulations=8", "trainer.steps_per_generation=5", "trainer.batch_size=32",
        "arena.max_games=2", "arena.simulations=4", "arena.rating_games=2",
        "arena.anchor_rollouts=4", "pipeline.threads=1"]


def sets(*overrides):
    return [arg for o in overrides for arg in ("--set", o)]


def snapshot(path: Path):
    """Every file under path with its bytes and mode, or None when path does not exist."""
    if not path.exists():
        return None
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None, p.stat().st_mode)
            for p in sorted(path.rglob("*"))}


def refused(capsys, args, named, stdin: str | None = None, monkeypatch=None) -> str:
    """Run the command line in this process; assert a non-zero exit and one line on stderr,
    without a traceback, that names `named`; return the line."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = exit_status(*args)
    out, err = capsys.readouterr()
    assert status not in (0, None), out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("zeroplay") and "Traceback" not in err
    assert named in lines[0], lines[0]
    assert len(lines[0]) < 1100
    return lines[0]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A real run directory of one complete tic-tac-toe generation (copy it to change it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    try:
        assert main(["train", "--game", "tictactoe", "--run-dir", str(run_dir), "--quiet",
                     "--generations", "1", *sets(*TINY)]) == 0
    finally:
        torch.set_num_threads(threads)
    return run_dir


@pytest.fixture
def run(trained_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


def train(run_dir, *extra):
    return ["train", "--game", "tictactoe", "--run-dir", str(run_dir), "--quiet", *extra]


def resume(run_dir):
    """train on the trained run, with its own settings: only a damaged file stops it."""
    return train(run_dir, "--generations", "2", *sets(*TINY))


# ---- values in the type but not in the domain ----------------------------------------------

OUT_OF_DOMAIN = [  # (arguments, what the line must name); each issue 17 case, and more
    (sets("trainer.learning_rate=nan"), "trainer.learning_rate"),
    (sets("trainer.learning_rate=inf"), "trainer.learning_rate"),
    (sets("trainer.learning_rate=-0.1"), "trainer.learning_rate"),
    (["--minutes", "nan"], "--minutes"),
    (["--minutes", "-1"], "--minutes"),
    (["--minutes", "inf"], "--minutes"),
    (["--generations", "-1"], "--generations"),
    (["--generations", "x"], "--generations"),
    (sets("arena.gate=bogus"), "arena.gate"),
    (sets("search.c_init=nan"), "search.c_init"),
    (sets("replay.window_max=-1"), "replay.window_max"),
    (sets("network.blocks=-1"), "network.blocks"),
    (sets("pipeline.workers=-1"), "pipeline.workers"),
    (sets("arena.threshold=inf"), "arena.threshold"),
    (sets("selfplay.games_in_parallel=0"), "selfplay.games_in_parallel"),
    (sets("pipeline.threads=-1"), "pipeline.threads"),
    (sets("network.channels=100000"), "network.channels"),
    (sets("trainer.batch_size=-16"), "trainer.batch_size"),
    (sets("selfplay.games_per_generation=0"), "selfplay.games_per_generation"),
    (sets("pipeline.seed=100000000000000000000000"), "pipeline.seed"),
    (sets("pipeline.seed=-1"), "pipeline.seed"),
    (sets("pipeline.device=tpu"), "pipeline.device"),
    (sets("pipeline.minutes=nan"), "pipeline.minutes"),
    (sets("search.method=mcts"), "search.method"),
    (sets("search.simulations=-5"), "search.simulations"),
    (sets("trainer.momentum=1"), "trainer.momentum"),
    (sets("selfplay.resign_threshold=-3"), "selfplay.resign_threshold"),
    (sets("learner.kind=bogus"), "learner.kind"),
    (sets("learner.search_critic=maybe"), "learner.search_critic"),
    (sets("learner.flip_probability=0.2"), "learner.flip_probability is an option of "
                                           "noisy_critic, not alphazero"),
    (sets("learner.kind=star", "learner.proxy=feature"), "learner.proxy"),
    (sets("learner.kind=noisy_critic", "learner.flip_probability=1.5"),
     "learner.flip_probability"),
    (sets("learner.kind=star", "learner.temperature=0"), "learner.temperature"),
    (sets("learner.kind=star", "learner.teacher_simulations=0"), "learner.teacher_simulations"),
    (sets("learner.kind=proxy_critic", "learner.reward_games=0"), "learner.reward_games"),
    (sets("trainer.learning_rate=" + "9" * 5000), "trainer.learning_rate"),
    (sets("search.simulations=10000000", "selfplay.games_in_parallel=65536"), "GiB"),
]


@pytest.mark.parametrize("args, named", OUT_OF_DOMAIN,
                         ids=[str(i) for i in range(len(OUT_OF_DOMAIN))])
def test_a_value_out_of_its_domain_is_refused_before_a_new_run_directory_exists(
        capsys, tmp_path, args, named):
    run_dir = tmp_path / "run"
    refused(capsys, train(run_dir, *args), named)
    assert not run_dir.exists()


@pytest.mark.parametrize("args, named", OUT_OF_DOMAIN[::3] + OUT_OF_DOMAIN[-1:])
def test_a_value_out_of_its_domain_changes_nothing_in_an_existing_run(capsys, run, args, named):
    before = snapshot(run)
    refused(capsys, train(run, *args), named)
    assert snapshot(run) == before


def test_a_config_file_value_out_of_its_domain_names_the_file_and_the_key(capsys, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[trainer]\nlearning_rate = nan\n")
    line = refused(capsys, train(tmp_path / "run", "--config", str(config)),
                   "trainer.learning_rate")
    assert str(config) in line and not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, named", [
    (["evaluate", "--game", "tictactoe", "random", "random", "--opening-moves", "-1"],
     "--opening-moves"),
    (["evaluate", "--game", "tictactoe", "mcts:0", "random"], "mcts:0"),
    (["evaluate", "--game", "tictactoe", "mcts:²", "random"], "mcts:²"),
    (["evaluate", "--game", "tictactoe", "random", "random", "--seed", "-1"], "--seed"),
    (["evaluate", "--game", "tictactoe", "random", "random", "--games", "0"], "--games"),
    (["check-game", "--game", "tictactoe", "--seed", "-1"], "--seed"),
    (["check-game", "--game", "tictactoe", "--games", "10000000000"], "--games"),
    (["bench", "rules", "--seed", "-1"], "--seed"),
    (["bestmove", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "-3"],
     "--simulations"),
    (["bestmove", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "0"],
     "--simulations"),
    (["strength", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "2", "--seed",
      "99999999999"], "--seed"),
    (["curve", "--run-dir", "x", "--out", "x.png", "--simulations", "a,b"], "--simulations"),
    (["curve", "--run-dir", "x", "--out", "x.png", "--simulations", "5,-1"], "--simulations"),
    (["show", "--game", "chess"], "chess"),
])
def test_a_command_option_out_of_its_domain_is_one_line_naming_it(capsys, args, named):
    refused(capsys, args, named)


def test_every_setting_has_a_domain_and_the_docs_show_them():
    for section, make in SECTIONS.items():
        for key, default in vars(make()).items():
            assert isinstance(default, bool) or f"{section}.{key}" in DOMAINS, (section, key)
    assert set(DOMAINS) <= {f"{s}.{k}" for s, make in SECTIONS.items() for k in vars(make())}
    assert domain_table() in (ROOT / "docs" / "reliability.md").read_text()


def test_the_python_api_checks_domains_and_the_game():
    with pytest.raises(ConfigError, match="trainer.learning_rate"):
        TrainerConfig(learning_rate=float("nan"))
    with pytest.raises(ConfigError, match="unknown game 'chess'"):
        load_config("chess")
    with pytest.raises(ConfigError, match="learner.reward_steps is an option of proxy_critic"):
        load_config("tictactoe", overrides=["learner.reward_steps=5"])
    for kind, options in LEARNER_OPTIONS.items():  # each learner's own options are accepted
        load_config("tictactoe", overrides=[f"learner.kind={kind}"]
                    + [f"learner.{o}={json.dumps(getattr(load_config('tictactoe').learner, o))}"
                       for o in options])


def _bad_value(name, data):
    """A value of the right type for setting `name` that lies outside its domain."""
    domain = DOMAINS[name]
    if name == "pipeline.init_checkpoint":  # a path: any text but NUL, up to 4096 characters
        return data.draw(st.sampled_from(["\x00", "run/\x00.ckpt", "x" * 5000]))
    if domain.choices or domain.pattern:
        return data.draw(st.text(max_size=12).filter(lambda t: not domain.allows(t)))
    section, key = name.split(".")
    integer = isinstance(vars(SECTIONS[section]())[key], int)
    options = [float("nan"), float("inf"), -float("inf")] if not integer else []
    if domain.lo is not None:
        options.append(domain.lo if domain.open_lo else domain.lo - (1 if integer else 1e-3))
    if domain.hi is not None:
        options.append(domain.hi if domain.open_hi else domain.hi + (1 if integer else 1e-3))
    return data.draw(st.sampled_from(options))


def _check_generated_value(data):
    name = data.draw(st.sampled_from(sorted(DOMAINS)))
    value = _bad_value(name, data)
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    with pytest.raises(ConfigError) as error:
        load_config("tictactoe", overrides=[f"{name}={text}"])
    message = str(error.value)
    assert len(message.splitlines()) == 1 and name in message, message


@settings(deadline=None, max_examples=150)
@given(st.data())
def test_generated_values_out_of_each_domain_are_refused_naming_the_key(data):
    _check_generated_value(data)


# ---- a training step that diverges ---------------------------------------------------------

def test_a_diverging_run_stops_in_one_line_and_never_promotes_a_non_finite_network(
        capsys, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run_dir = tmp_path / "run"
    try:  # learning rate 100: the weights overflow within the first generations
        line = refused(capsys, train(run_dir, "--generations", "4",
                                     *sets(*TINY, "trainer.learning_rate=100")), "diverged")
    finally:
        torch.set_num_threads(threads)
    assert "trainer.learning_rate" in line
    state = json.loads((run_dir / "state.json").read_text()) if (
        run_dir / "state.json").exists() else {"generation": 0}
    assert state["generation"] < 4
    for path in [run_dir / "best.ckpt", *(run_dir / "checkpoints").glob("*.ckpt")]:
        load_checkpoint(path, "tictactoe")  # checks that every weight is finite
    assert load_checkpoint(run_dir / "best.ckpt").generation <= state["generation"]


def test_non_finite_weights_or_loss_are_a_training_divergence():
    net = build_network(GAME, load_config("tictactoe").network)
    check_finite(1.0, [net], 3)
    with pytest.raises(TrainingDiverged, match="loss is nan"):
        check_finite(float("nan"), [net], 3)
    with torch.no_grad():
        next(net.parameters())[0] = float("inf")
    with pytest.raises(TrainingDiverged, match="generation 3"):
        check_finite(1.0, [net], 3)


# ---- sizes that follow from input ----------------------------------------------------------

@pytest.mark.parametrize("args, named", [
    (["bestmove", "--game", "connect4", "--mcts-rollouts", "--simulations", "1000000000"],
     "--simulations"),
    (["bestmove", "--game", "tictactoe", "--checkpoint", "builtin", "--simulations",
      "1000000000"], "--simulations"),
    (["evaluate", "--game", "connect4", "mcts:1000000000", "random"], "mcts:1000000000"),
    (["evaluate", "--game", "connect4", "random", "net:builtin:1000000000"],
     "net:builtin:1000000000"),
    (["strength", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "1000000000"],
     "--simulations"),
    (["play", "--game", "connect4", "--mcts-rollouts", "--simulations", "1000000000"],
     "--simulations"),
])
def test_a_search_the_machine_cannot_hold_is_refused_with_its_estimate(
        capsys, monkeypatch, args, named):
    line = refused(capsys, args, named, stdin="4\n", monkeypatch=monkeypatch)
    assert "GiB of memory" in line and "available" in line


def test_the_search_estimate_is_the_trees_memory():
    from mcts import Searcher, SearchConfig, UniformEvaluator, tree_bytes
    searcher = Searcher(GAME, UniformEvaluator(), SearchConfig(simulations=50), 3)
    assert search_bytes(GAME, 50, 1, 3) == tree_bytes(searcher.tree)
    with pytest.raises(ResourceError, match="1,000,000,000,000 simulations"):
        parse_player(GAME, "mcts:1000000000000")


def test_bestmove_searches_standard_input_in_bounded_batches(capsys, monkeypatch):
    from engine.players import SearchPlayer
    sizes = []
    real = SearchPlayer.analyse  # bestmove's search: the search's view of each batch
    monkeypatch.setattr(SearchPlayer, "analyse",
                        lambda self, s: sizes.append(len(s)) or real(self, s))
    monkeypatch.setattr(cli, "STDIN_BATCH", 7)
    lines = ["", "5", "51", "1234"] * 5
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["bestmove", "--game", "tictactoe", "--mcts-rollouts", "--simulations", "4"]) == 0
    assert sizes == [7, 7, 6] and len(capsys.readouterr().out.splitlines()) == 20


def test_a_megabyte_line_is_refused_and_not_echoed(capsys, monkeypatch):
    line = refused(capsys, ["bestmove", "--game", "connect4", "--mcts-rollouts",
                            "--simulations", "2"], "line 2", stdin="4\n" + "4" * 2**20 + "\n",
                   monkeypatch=monkeypatch)
    assert "longer than" in line


def test_a_megabyte_of_bad_notation_is_cut_in_the_message(capsys, monkeypatch):
    refused(capsys, ["show", "--game", "connect4", "--moves", "x" * 2**20], "bad move 'x'")
    with pytest.raises(GameError) as error:
        GAME.position("1" + "z" * 2**20)
    assert len(str(error.value)) < 300


def engine(*args, stdin=None, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env,
                          stdin=stdin, capture_output=True, text=True, timeout=timeout)


def one_line(result, named) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    return lines[0]


@pytest.fixture
def watchdog():
    """Fail a test that blocks (on a FIFO, say) instead of letting it hang the suite."""
    def expire(*_):
        raise TimeoutError("blocked for 30 s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_dev_zero_and_fifos_are_refused_without_reading_or_waiting(
        capsys, monkeypatch, tmp_path, watchdog):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with open("/dev/zero") as zero:  # standard input of endless NUL bytes
        monkeypatch.setattr(sys, "stdin", zero)
        refused(capsys, ["bestmove", "--game", "connect4", "--mcts-rollouts", "--simulations",
                         "2"], "line 1")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        run_dir = tmp_path / "run"
        refused(capsys, train(run_dir, "--config", path), path)
        assert not run_dir.exists()
        refused(capsys, ["bestmove", "--game", "tictactoe", "--checkpoint", path,
                         "--simulations", "0"], path)
        refused(capsys, ["strength", "--game", "connect4", "--mcts-rollouts", "--simulations",
                         "2", "--data", path], path)


def test_files_larger_than_their_cap_are_refused_unread(capsys, tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    assert "larger than" in refused(capsys, train(tmp_path / "run", "--config", str(big)),
                                    str(big))
    assert not (tmp_path / "run").exists()


# ---- checkpoint contents -------------------------------------------------------------------

def _signed(payload: bytes) -> bytes:
    import hashlib
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def forge(path: Path, meta, weights, optimizer=None, raw_meta=None) -> Path:
    """A checkpoint with a valid header and checksum and whatever contents."""
    buf = io.BytesIO()
    torch.save({"meta": raw_meta if raw_meta is not None else json.dumps(meta),
                "weights": weights, "optimizer": optimizer}, buf)
    path.write_bytes(_signed(buf.getvalue()))
    return path


def _good():
    config = load_config("tictactoe").to_dict()
    weights = build_network(GAME, load_config("tictactoe").network).state_dict()
    return {"game": "tictactoe", "generation": 1, "config": config}, dict(weights)


def _case(change):
    """(meta, weights, extra) of a good checkpoint after `change`, which edits meta and weights
    in place or returns {"weights"|"optimizer"|"raw_meta": ...} to replace them."""
    meta, weights = _good()
    extra = change(meta, weights)
    ok = isinstance(extra, dict) and set(extra) <= {"weights", "optimizer", "raw_meta"}
    return meta, weights, extra if ok else {}


FIRST = "stem.0.weight"
CHECKPOINT_CASES = {
    "no network config": lambda m, w: m.update(config={}),
    "no config": lambda m, w: m.pop("config"),
    "unknown network key": lambda m, w: m["config"]["network"].update(width=3),
    "string setting": lambda m, w: m["config"]["network"].update(channels="32"),
    "string search setting": lambda m, w: m["config"]["search"].update(simulations="many"),
    "36 TB network": lambda m, w: m["config"]["network"].update(channels=10**7, blocks=10**4),
    "largest network, small weights": lambda m, w: m["config"]["network"].update(
        channels=1024, blocks=64),
    "unknown game": lambda m, w: m.update(game="chess"),
    "string generation": lambda m, w: m.update(generation="7"),
    "negative generation": lambda m, w: m.update(generation=-7),
    "string weights": lambda m, w: w.update({FIRST: "weights"}),
    "missing tensor": lambda m, w: w.pop(FIRST),
    "unknown tensor": lambda m, w: w.update({"evil.weight": torch.zeros(3)}),
    "wrong shape": lambda m, w: w.update({FIRST: torch.zeros(1, 2, 3)}),
    "float64": lambda m, w: w.update({FIRST: w[FIRST].double()}),
    "NaN weights": lambda m, w: w.update({FIRST: torch.full_like(w[FIRST], float("nan"))}),
    "inf weights": lambda m, w: w.update({FIRST: torch.full_like(w[FIRST], float("inf"))}),
    "weights a list": lambda m, w: {"weights": [1, 2]},
    "bad optimizer": lambda m, w: {"optimizer": "x"},
    "meta not JSON": lambda m, w: {"raw_meta": "{"},
    "meta a list": lambda m, w: {"raw_meta": "[1]"},
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_CASES))
def test_a_checkpoint_with_a_valid_checksum_and_bad_contents_is_refused(
        capsys, monkeypatch, tmp_path, case):
    meta, weights, extra = _case(CHECKPOINT_CASES[case])
    path = forge(tmp_path / "forged.ckpt", meta, extra.get("weights", weights),
                 extra.get("optimizer"), extra.get("raw_meta"))
    refused(capsys, ["bestmove", "--game", "tictactoe", "--checkpoint", str(path),
                     "--simulations", "0"], str(path), stdin="5\n", monkeypatch=monkeypatch)
    refused(capsys, ["evaluate", "--game", "tictactoe", f"net:{path}:0", "random"], str(path))
    with pytest.raises(CheckpointError):
        network_player(GAME, path, 0)


@pytest.mark.parametrize("case", ["NaN weights", "wrong shape", "string setting"])
def test_a_run_with_a_forged_checkpoint_is_refused_unchanged(capsys, run, case):
    meta, weights, extra = _case(CHECKPOINT_CASES[case])
    config = json.loads((run / "config.json").read_text())
    meta["config"] = {**config, "network": {**config["network"], **(
        meta["config"]["network"] if case == "string setting" else {})}}
    forge(run / "best.ckpt", meta, weights)
    before = snapshot(run)
    refused(capsys, resume(run), "best.ckpt")
    assert snapshot(run) == before


def test_a_corrupt_checkpoint_is_one_line_without_a_torch_warning(tmp_path):
    path = tmp_path / "torn.ckpt"
    path.write_bytes(_signed(b"PK\x03\x04 not a torch archive" * 10))
    one_line(engine("bestmove", "--game", "tictactoe", "--checkpoint", str(path),
                    "--simulations", "0", stdin=subprocess.DEVNULL), str(path))


# ---- run-state files -----------------------------------------------------------------------

def _edit_json(path: Path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


STATE_CASES = {
    "elo a number": lambda s: s.update(elo=1500),
    "elo triple of text": lambda s: s.update(elo={"random": ["a", "b", "c"]}),
    "negative generation": lambda s: s.update(generation=-7),
    "string games": lambda s: s.update(games="many"),
    "nan minutes": lambda s: s.__setitem__("minutes", float("nan")),
    "unknown key": lambda s: s.update(evil=1),
    "gate without reason": lambda s: s.update(last_gate={"generation": 1}),
    "best ahead": lambda s: s.update(best_generation=99),
}


@pytest.mark.parametrize("case", sorted(STATE_CASES) + ["not JSON", "a list", "a FIFO"])
def test_a_damaged_state_file_is_one_line_naming_it(capsys, tmp_path, run, case):
    path = run / "state.json"
    if case == "not JSON":
        path.write_text("{generation: 1")
    elif case == "a list":
        path.write_text("[1, 2]")
    elif case == "a FIFO":
        path.unlink()
        os.mkfifo(path)
    else:
        _edit_json(path, STATE_CASES[case])
    before = snapshot(run) if case != "a FIFO" else None
    refused(capsys, ["status", "--run-dir", str(run)], "state.json")
    refused(capsys, ["status", "--run-dir", str(run), "--json"], "state.json")
    refused(capsys, resume(run), "state.json")
    if before is not None:
        assert snapshot(run) == before


METRICS_CASES = {
    "no generation": '{"minutes": 1.0}\n',
    "string minutes": '{"generation": 1, "minutes": "soon"}\n',
    "elo a number": '{"generation": 1, "minutes": 1.0, "elo": 1500}\n',
    "generation -7": '{"generation": -7, "minutes": 1.0}\n',
    "bad middle line": '{"generation": 1}\n{oops\n{"generation": 1}\n',
    "a list": "[1, 2]\n",
}


@pytest.mark.parametrize("case", sorted(METRICS_CASES) + ["not UTF-8"])
def test_a_damaged_metrics_file_is_one_line_naming_it(capsys, tmp_path, run, case):
    path = run / "metrics.jsonl"
    if case == "not UTF-8":
        path.write_bytes(b'{"generation": 1, "minutes": "\xff\xfe"}\n')
    else:
        path.write_text(METRICS_CASES[case])
    before = snapshot(run)
    out = tmp_path / "curve.png"
    refused(capsys, ["curve", "--run-dir", str(run), "--out", str(out), "--simulations", "0"],
            "metrics.jsonl")
    refused(capsys, resume(run), "metrics.jsonl")
    assert snapshot(run) == before and not out.exists()


@pytest.mark.parametrize("change, named", [
    (lambda c: c.update(game="chess"), "chess"),
    (lambda c: c["pipeline"].update(generations=-5), "pipeline.generations"),
    (lambda c: c["network"].update(channels="wide"), "network.channels"),
])
def test_a_damaged_run_config_is_one_line_naming_it(capsys, tmp_path, run, change, named):
    _edit_json(run / "config.json", change)
    before = snapshot(run)
    for args in (["status", "--run-dir", str(run)], resume(run),
                 ["curve", "--run-dir", str(run), "--out", str(tmp_path / "c.png")]):
        assert "config.json" in refused(capsys, args, named)
    assert snapshot(run) == before


# ---- messages --------------------------------------------------------------------------------

@pytest.mark.parametrize("content, named", [
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"4\t4\t1,1,1,1,1,1,1\n44\tx\t1\n", ":2:"),
    (b"4\t4\n9\t8\n", "position 2"),
])
def test_a_bad_data_file_names_the_file_and_line(capsys, tmp_path, content, named):
    data = tmp_path / "moves.tsv"
    data.write_bytes(content)
    line = refused(capsys, ["strength", "--game", "connect4", "--mcts-rollouts", "--simulations",
                            "2", "--data", str(data)], named)
    assert str(data) in line


# ---- the envs' actions -----------------------------------------------------------------------

NON_ACTIONS = [3.7, 3.0, "3", True, False, None, [3], float("nan"), np.float32(2), {}, b"3",
               np.array([1, 2]), "x" * 10**6]


def _envs(game):
    pz = pytest.importorskip("games.pettingzoo")
    gym_env, aec = GameEnv(game), pz.env(game)
    gym_env.reset(seed=0)
    aec.reset(seed=0)
    return gym_env, aec


@pytest.mark.parametrize("action", NON_ACTIONS, ids=[repr(a)[:12] for a in NON_ACTIONS])
def test_both_envs_refuse_a_non_action_alike_and_change_nothing(action):
    gym_env, aec = _envs("connect4")
    messages = []
    for env, state in ((gym_env, lambda: gym_env.state), (aec, lambda: aec.unwrapped.state)):
        before = state().copy()
        with pytest.raises(GameError) as error:
            env.step(action)
        np.testing.assert_array_equal(state(), before)
        messages.append(str(error.value))
    assert messages[0] == messages[1] and len(messages[0]) < 200
    assert len(messages[0].splitlines()) == 1


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.floats(), st.text(max_size=3), st.booleans(), st.none(),
                 st.lists(st.integers(0, 6), max_size=2), st.integers(-10, 20)))
def test_generated_actions_are_played_or_refused_alike_by_both_envs(action):
    gym_env, aec = _envs("connect4")
    results = []
    for env, state in ((gym_env, lambda: gym_env.state), (aec, lambda: aec.unwrapped.state)):
        try:
            env.step(action)
            results.append(("played", state().tobytes()))
        except GameError as error:
            results.append(("refused", str(error)))
    assert results[0] == results[1]
    assert (results[0][0] == "played") == (type(action) is int and 0 <= action < 7)


@pytest.mark.parametrize("state, action, named", [
    (GAME.initial(), 3.5, "an action is an integer"),
    (GAME.initial(), True, "an action is an integer"),
    (GAME.initial().astype(np.int32), 3, "int32"),
    (GAME.initial()[None], 3, "shape \\[1, 4\\]"),
    (GAME.initial()[:2], 3, "shape \\[2\\]"),
    (list(GAME.initial()), 3, "list"),
])
def test_game_apply_refuses_non_actions_and_malformed_states(state, action, named):
    with pytest.raises(GameError, match=named):
        GAME.apply(state, action)


# ---- at scale (slow) -------------------------------------------------------------------------

@pytest.mark.slow
@settings(deadline=None, max_examples=3000)
@given(st.data())
def test_generated_values_out_of_each_domain_at_scale(data):
    _check_generated_value(data)


@pytest.mark.slow
@settings(deadline=None, max_examples=300,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_bad_values_leave_a_run_unchanged_at_scale(capsys, trained_run, data):
    name = data.draw(st.sampled_from(sorted(DOMAINS)))
    value = _bad_value(name, data)
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    before = snapshot(trained_run)
    refused(capsys, train(trained_run, "--set", f"{name}={text}"), name)
    assert snapshot(trained_run) == before


@pytest.mark.slow
@settings(deadline=None, max_examples=400,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_damage_to_checkpoints_and_state_at_scale(tmp_path_factory, data):
    """Random contents: a tensor replaced by a random shape, dtype or value, a random state
    key given a random JSON value; each is refused by the loaders in one line."""
    meta, weights = _good()
    name = data.draw(st.sampled_from(sorted(weights)))
    shape = data.draw(st.lists(st.integers(0, 4), max_size=4))
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool]))
    fill = data.draw(st.sampled_from([float("nan"), float("inf"), 0.5]))
    tensor = torch.full(shape, fill if dtype.is_floating_point else 1, dtype=dtype)
    same = tuple(shape) == tuple(weights[name].shape) and dtype == weights[name].dtype
    weights[name] = tensor
    path = forge(tmp_path_factory.mktemp("ckpt") / "x.ckpt", meta, weights)
    if same and (math.isfinite(fill) or not dtype.is_floating_point):
        load_checkpoint(path, "tictactoe")
    else:
        with pytest.raises(CheckpointError) as error:
            load_checkpoint(path, "tictactoe")
        assert len(str(error.value).splitlines()) == 1 and str(path) in str(error.value)

    from engine.rundir import RunError, RunState
    key = data.draw(st.sampled_from(sorted(vars(RunState()))))
    value = data.draw(st.one_of(st.integers(-10**20, -1), st.text(max_size=5),
                                st.floats(allow_nan=True).filter(lambda x: not x >= 0),
                                st.lists(st.integers(), max_size=2), st.none()))
    state_path = path.parent / "state.json"
    state_path.write_text(json.dumps({**vars(RunState(generation=3)), key: value}))
    if key == "replay_shards" and value is None:
        return
    with pytest.raises(RunError) as error:
        RunState.load(state_path)
    assert len(str(error.value).splitlines()) == 1 and "state.json" in str(error.value)


@pytest.mark.parametrize("path, named", [
    ("/dev/zero", "not a regular file"),
    (str(ROOT / "engine" / "models" / "connect4.ckpt"), "not tictactoe"),
])
def test_a_bad_warm_start_checkpoint_is_refused_before_the_run_directory_exists(
        capsys, tmp_path, path, named):
    run_dir = tmp_path / "run"
    assert path in refused(capsys, train(run_dir, *sets(f"pipeline.init_checkpoint={path}")),
                           named)
    assert not run_dir.exists()
