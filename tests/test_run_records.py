"""What a run records of itself: the rating ladder, the inference settings each generation used,
and the TensorBoard log's grouped tags, Elo intervals and hparams. One tiny tic-tac-toe run of
two generations, resumed in between with another layout and a last rating that beat its rung."""
import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from engine.arena import score_of
from engine.pipeline import Pipeline, RunState
from test_pipeline import read_metrics, tiny_config, one_torch_thread  # noqa: F401 - a fixture

LADDER = ["arena.anchor_rollouts=2", "arena.ladder_rungs=3", "arena.ladder_factor=2",
          "arena.rating_every=1", "pipeline.precision=fp32", "pipeline.backend=local"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("records")
    Pipeline(tiny_config(*LADDER, "pipeline.generations=1", "pipeline.layout=contiguous"),
             run_dir, quiet=True).run()
    state = RunState.load(run_dir / "state.json")
    state.elo["mcts2"] = [400.0, 300.0, 500.0]  # the last rating beat its rung: one up next
    state.save(run_dir / "state.json")
    Pipeline(tiny_config(*LADDER, "pipeline.generations=2", "pipeline.layout=channels_last"),
             run_dir, quiet=True).run()
    return run_dir


def test_each_rating_plays_the_ladders_rung_the_last_one_points_to(run):
    first, second = read_metrics(run)
    assert set(first["elo"]) == {"random", "mcts2"}  # the lowest rung first
    assert set(second["elo"]) == {"random", "mcts4"}
    assert score_of(400.0) > 0.75
    assert (second["rating_games"], second["rating_simulations"]) == (2, 4)


def test_each_generation_records_the_inference_settings_it_used(run):
    first, second = read_metrics(run)
    used = [(r["device"], r["precision"], r["layout"], r["threads"], r["train_precision"])
            for r in (first, second)]
    assert used == [("cpu", "fp32", "contiguous", 1, "fp32"),
                    ("cpu", "fp32", "channels_last", 1, "fp32")]
    assert json.loads((run / "inference.json").read_text())["channels_last"] is True


def test_no_gate_score_is_recorded_where_no_gate_ran(run):
    assert all(r["gate_reason"] == "no gate" and "gate_score" not in r for r in read_metrics(run))


def events(run) -> EventAccumulator:
    return EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0}).Reload()


def test_tensorboard_tags_are_grouped_with_cumulative_counters_and_elo_intervals(run):
    log = events(run)
    tags = set(log.Tags()["scalars"])
    for tag in ("loss/total", "loss/policy_loss", "selfplay/games", "selfplay/games_total",
                "selfplay/evaluations_total", "speed/games_per_s", "speed/threads",
                "strength/optimal_moves", "train/learning_rate", "elo/random", "elo/mcts2",
                "elo/mcts4", "elo/rating_games"):
        assert tag in tags, tag
    assert not [t for t in tags if "/" not in t or "gate_score" in t]
    assert [(e.step, e.value) for e in log.Scalars("selfplay/games_total")] == [(1, 16), (2, 32)]
    # each rating's interval: its finite ends (every game won has no upper one)
    for record in read_metrics(run):
        for anchor, (elo, lo, hi) in record["elo"].items():
            for name, value in ((anchor, elo), (f"{anchor}_low", lo), (f"{anchor}_high", hi)):
                logged = [e.value for e in log.Scalars(f"elo/{name}")
                          if e.step == record["generation"]] if f"elo/{name}" in tags else []
                assert logged == ([pytest.approx(value)] if abs(value) != float("inf") else [])


def test_the_runs_settings_are_its_hparams_with_its_loss_and_strength_as_metrics(run):
    from tensorboard.plugins.hparams import metadata
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    log = events(run)
    data = {tag: HParamsPluginData.FromString(content) for tag, content
            in log.PluginTagToContent(metadata.PLUGIN_NAME).items()}
    hparams = data[metadata.SESSION_START_INFO_TAG].session_start_info.hparams
    assert hparams["search.simulations"].number_value == 8
    assert hparams["arena.ladder_rungs"].number_value == 3
    metrics = [m.name.tag for m in data[metadata.EXPERIMENT_TAG].experiment.metric_infos]
    assert sorted(metrics) == ["loss/total", "strength/optimal_moves"]  # logged scalars
    assert metrics[0] in log.Tags()["scalars"] and metrics[1] in log.Tags()["scalars"]


def test_the_readme_lists_every_tensorboard_tag():
    from pathlib import Path

    from engine import tblog

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {line.split("|")[1].strip(" `/"): line.split("|")[2] for line in readme.splitlines()
            if line.startswith("| `") and line.split("|")[1].strip().endswith("/`")}
    for key in [k for keys in tblog.GROUPS.values() for k in keys]:
        group, name = tblog.tag(key).split("/")
        assert f"`{name}`" in rows[group], tblog.tag(key)


@pytest.mark.parametrize("precision, layout", [("bf16", "channels_last"), ("fp32", "contiguous")])
def test_a_set_precision_and_layout_are_taken_as_they_are(precision, layout):
    import games
    from engine.config import NetworkConfig, TrainerConfig
    from engine.network import build_network, choose_inference
    from engine.trainer import choose_training

    game = games.get("tictactoe")
    net = build_network(game, NetworkConfig(blocks=1, channels=8))
    used = choose_inference(net, game, 4, (1,), "cpu", precision, layout).used()
    assert (used["precision"], used["layout"], used["threads"]) == (precision, layout, 1)
    training = choose_training(net, game.planes, game.num_actions, TrainerConfig(batch_size=4),
                               precision=precision)
    assert training.bf16 == (precision == "bf16") and "pipeline.precision" in training.describe()


def test_status_says_whether_the_run_is_live_and_its_last_rates_and_loss(run, capsys):
    from engine.cli import main
    from engine.rundir import RunLock

    last = read_metrics(run)[-1]
    before = sorted(p.name for p in run.iterdir())
    assert main(["status", "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{run}: not running"
    assert out[2] == (f"generation 2: loss {last['loss']:.3f} (policy {last['policy_loss']:.3f}, "
                      f"value {last['value_loss']:.3f}); self-play {last['games_per_s']:.1f} "
                      f"games/s, {last['positions_per_s']:,.0f} positions/s, "
                      f"{last['evaluations_per_s']:,.0f} evaluations/s; optimal moves "
                      f"{last['strength']:.1%} (raw policy, probe positions)")
    with RunLock(run):  # as a train process holds it
        assert main(["status", "--run-dir", str(run), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["live"] is True and info["last_generation"]["loss"] == last["loss"]
        assert main(["status", "--run-dir", str(run)]) == 0
        assert capsys.readouterr().out.splitlines()[0].endswith(": live (a train process holds "
                                                                "its lock)")
    assert json.loads((main(["status", "--run-dir", str(run), "--json"]),
                       capsys.readouterr().out)[1])["live"] is False
    assert sorted(p.name for p in run.iterdir()) == before  # status writes nothing
