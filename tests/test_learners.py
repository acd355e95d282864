"""Learners: each turns the same raw game records into the targets its critic allows; the
search can be kept blind to the games' results; bad learner settings are refused."""
import dataclasses
import hashlib
from dataclasses import replace

import numpy as np
import pytest
import torch

import games
from engine.config import ConfigError, SelfPlayConfig, load_config
from engine.learners import LearnerError, make_learner
from engine.learners.alphazero import AlphaZero
from engine.learners.no_critic import NoCritic
from engine.learners.noisy_critic import NoisyCritic
from engine.learners.star import Star
from engine.selfplay import play_games
from engine.strength import every_position
from engine.trainer import losses
from mcts import UNKNOWN, RolloutEvaluator, Searcher, SearchConfig, UniformEvaluator

GAME = games.get("tictactoe")


@pytest.fixture(scope="module")
def records():
    cfg = SelfPlayConfig(games_in_parallel=16, temperature_moves=9)
    recs, _ = play_games(GAME, RolloutEvaluator(GAME, 1, seed=3), SearchConfig(simulations=24),
                         cfg, 32, seed=5)
    assert any(r.result != 0 for r in recs)
    return recs


def test_alphazero_labels_the_result_mixed_with_the_search_value(records):
    w = 0.25
    trajectories, _ = AlphaZero(w).label(records, None)
    for record, t in zip(records, trajectories):
        expected = []
        for mover, value, proven in zip(record.movers, record.values, record.proven):
            result = record.result if mover == 0 else -record.result
            root = float(value) if proven == UNKNOWN else float(proven)
            expected.append((1 - w) * result + w * root)
        assert t.values == pytest.approx(np.array(expected, np.float32))
        assert np.array_equal(t.policies, record.policies)
        assert np.array_equal(t.states, record.states)


def test_star_keeps_the_winners_moves_as_one_hot_targets(records):
    star = Star(GAME, "policy", 1.0, True, False, "solver", 100)
    trajectories, stats = star.label(records, np.random.default_rng(0))
    winners = 0
    for record, t in zip(records, trajectories):
        results = np.where(record.movers == 0, record.result, -record.result)
        won = results > 0
        winners += won.sum()
        assert np.array_equal(t.policies[won].argmax(axis=1), record.actions[won])
        assert np.all(t.policies[won].sum(axis=1) == 1.0)
        assert np.all(t.policies[~won] == 0.0)  # losers and draws: no policy target
        assert np.array_equal(t.values, results.astype(np.float32))
    assert stats["kept_share"] == pytest.approx(winners / sum(len(r.actions) for r in records))
    no_value = dataclasses.replace(star, train_value=False)
    for record, t in zip(records, no_value.label(records, None)[0]):
        assert len(t.values) == int((np.where(record.movers == 0, record.result,
                                              -record.result) > 0).sum())
        assert np.all(np.isnan(t.values))


def test_star_rationalizes_a_lost_game_at_its_first_mistake_with_the_solvers_move(records):
    states, optimal, _ = every_position("tictactoe")
    best = {tuple(s): o for s, o in zip(states, optimal)}
    star = Star(GAME, "policy", 1.0, True, True, "solver", 100)
    lost = [r for r in records if r.result != 0]
    trajectories, stats = star.label(lost, np.random.default_rng(0))
    hints = trajectories[len(lost):]
    assert stats["rationalized"] == len(hints) > 0
    for hint in hints:
        state = hint.states[0]
        assert int(hint.policies[0].argmax()) in best[tuple(state)]  # the hint is optimal
        assert np.isnan(hint.values[0])
    for record in lost:  # ... and it replaces the loser's first non-optimal move
        loser = 1 if record.result > 0 else 0
        mistakes = [i for i in np.flatnonzero(record.movers == loser)
                    if record.actions[i] not in best[tuple(record.states[i])]]
        found = [h for h in hints if any(np.array_equal(h.states[0], record.states[i])
                                         for i in mistakes[:1])]
        assert bool(mistakes) == bool(found)


def test_star_teacher_hints_replace_the_losers_first_move_the_teacher_would_not_play(
        records, monkeypatch):
    """The teacher (pure MCTS of learner.teacher_simulations) is asked about every move of
    each lost game's loser; the hint is its move where the loser first played another."""
    import engine.players

    asked, real = [], engine.players.mcts_player

    def spied(*args, **kwargs):
        teacher = real(*args, **kwargs)
        choose = teacher.choose

        def recorded(states):
            picks = choose(states)
            asked.extend(zip(states, picks))
            return picks

        teacher.choose = recorded
        return teacher

    monkeypatch.setattr(engine.players, "mcts_player", spied)
    config = load_config("tictactoe", overrides=["learner.kind='star'", "learner.rationalize=true",
                                                 "learner.hint='teacher'"])
    lost = [r for r in records if r.result != 0]
    trajectories, stats = make_learner(GAME, config).label(lost, np.random.default_rng(0))
    hints, expected, seen = trajectories[len(lost):], [], iter(asked)
    for record in lost:
        loser = np.flatnonzero(record.movers == (1 if record.result > 0 else 0))
        moves = [(row, next(seen)) for row in loser]
        assert all(np.array_equal(state, record.states[row]) for row, (state, _) in moves)
        expected += [(state, pick) for row, (state, pick) in moves
                     if pick != record.actions[row]][:1]
    assert next(seen, None) is None
    assert stats["hint_evaluations"] == len(asked) * config.learner.teacher_simulations
    assert stats["rationalized"] == len(hints) == len(expected) > 0
    for hint, (state, move) in zip(hints, expected):
        assert np.array_equal(hint.states[0], state) and np.isnan(hint.values[0])
        assert np.array_equal(hint.policies[0], np.eye(GAME.num_actions)[move])
    states, optimal, _ = every_position("tictactoe")  # and a strong teacher's moves are sound
    best = {tuple(s): o for s, o in zip(states, optimal)}
    assert all(int(h.policies[0].argmax()) in best[tuple(h.states[0])] for h in hints)


class Counting:
    """An evaluator that counts the positions it evaluates."""

    def __init__(self, evaluate):
        self.evaluate, self.positions = evaluate, 0

    def __call__(self, states, masks):
        self.positions += len(states)
        return self.evaluate(states, masks)


@pytest.mark.parametrize("generator", ["policy", "search"])
def test_star_generates_with_the_raw_policy_or_the_configured_search(generator):
    """"policy": one network call a move, no noise; "search": the configured search (its
    simulations, its noise); either way every move sampled, and the winners' moves kept."""
    config = load_config("tictactoe", overrides=[
        "learner.kind='star'", f"learner.generator='{generator}'", "search.simulations=16",
        "selfplay.games_in_parallel=8", "selfplay.temperature_moves=2"])
    star = make_learner(GAME, config)
    played = star.generator(config)
    assert played.selfplay.temperature_moves == GAME.max_moves
    evaluator = Counting(RolloutEvaluator(GAME, 1, seed=3))
    records, _ = play_games(GAME, evaluator, played.search, played.selfplay, 8, seed=2)
    moves = sum(len(r.actions) for r in records)
    if generator == "policy":
        assert played.search.simulations == 0 and played.search.dirichlet_fraction == 0
        assert evaluator.positions == moves
    else:
        assert played.search == config.search
        assert evaluator.positions > 4 * moves
    trajectories, _ = star.label(records, np.random.default_rng(0))
    for record, t in zip(records, trajectories):  # the winners' moves, one-hot
        won = record.result_for(record.movers) > 0
        assert np.array_equal(t.policies[won].argmax(axis=1), record.actions[won])


def test_noisy_critic_flips_results_with_its_probability(records):
    w = 0.0
    same, _ = NoisyCritic(0.0, w).label(records, np.random.default_rng(1))
    flipped, stats = NoisyCritic(1.0, w).label(records, np.random.default_rng(1))
    truth, _ = AlphaZero(w).label(records, None)
    for a, b, c in zip(same, flipped, truth):
        assert np.array_equal(a.values, c.values) and np.array_equal(b.values, -c.values)
    assert stats["flipped_share"] == 1.0
    half = NoisyCritic(0.5, w).label(records * 20, np.random.default_rng(2))[1]
    assert 0.4 < half["flipped_share"] < 0.6


def test_no_critic_trains_on_its_own_search_values(records):
    trajectories, _ = NoCritic().label(records, None)
    for record, t in zip(records, trajectories):
        assert np.array_equal(t.values, record.values)
        assert np.array_equal(t.policies, record.policies)


def test_proxy_critic_rates_games_by_the_proxy_on_the_final_position(records):
    config = load_config("tictactoe", overrides=["learner.kind='proxy_critic'"])
    proxy = make_learner(GAME, config)
    trajectories, stats = proxy.label(records, None)
    for record, t in zip(records, trajectories):
        final = record.final_state
        mover_view = float(np.sign(GAME.proxy_score(final[None])[0]))
        first_view = mover_view if GAME.player(final) == 0 else -mover_view
        movers = record.movers
        assert t.values == pytest.approx(np.where(movers == 0, first_view, -first_view))
    assert 0.0 <= stats["proxy_agreement"] <= 1.0


def win_in_one(search: SearchConfig) -> tuple[float, bool]:
    """(the share of its visits, whether it proves the root) of a 400-simulation search with
    these settings and uniform priors where X wins in one, at cell 3 (X on 1 and 2, O on 4 and
    5): with exact terminals the visits go there, blind (a finished game is worth the
    evaluator's 0) there is no reason to."""
    searcher = Searcher(GAME, UniformEvaluator(),
                        replace(search, simulations=400, dirichlet_fraction=0.0), 1)
    searcher.set_roots(GAME.position("1425")[None])
    result = searcher.run()
    return result.visits[0, 2] / result.visits[0].sum(), bool(result.proven[0] != UNKNOWN)


def test_a_blind_search_does_not_see_a_win_in_one():
    exact = win_in_one(SearchConfig(solver=True, exact_terminals=True))
    blind = win_in_one(SearchConfig(solver=False, exact_terminals=False))
    assert exact[0] > 0.5 and exact[1] and blind[0] < 0.3 and not blind[1]


class Played(Exception):
    """Raised by a stand-in for the pipeline's make_selfplay, with the config it was given."""


@pytest.mark.parametrize("kind, exact", [("alphazero", True), ("star", True),
                                         ("no_critic", False), ("noisy_critic", False),
                                         ("proxy_critic", False)])
def test_the_pipeline_plays_each_learners_games_with_the_search_its_critic_allows(
        kind, exact, tmp_path, monkeypatch):
    """The result and the solver's proofs reach the self-play search of the learners whose
    critic is the result, and no other's."""
    from engine import pipeline

    def caught(config, *args, **kwargs):
        raise Played(config)

    monkeypatch.setattr(pipeline, "make_selfplay", caught)
    config = load_config("tictactoe", overrides=[
        f"learner.kind='{kind}'", "pipeline.device='cpu'", "pipeline.threads=1",
        "pipeline.precision='fp32'", "pipeline.layout='contiguous'"])
    with pytest.raises(Played) as played:
        pipeline.Pipeline(config, tmp_path / "run", quiet=True).run()
    share, proven = win_in_one(played.value.args[0].search)
    assert (share > 0.5, proven) == (exact, exact)


def test_the_trainer_skips_missing_targets():
    torch.manual_seed(0)
    from engine.network import build_network
    net = build_network(GAME, load_config("tictactoe").network).eval()
    planes = torch.randn(6, *GAME.planes)
    policies = torch.zeros(6, 9)
    policies[:3, 4] = 1.0  # rows 3-5: no policy target
    values = torch.tensor([1.0, -1.0, float("nan"), 0.0, float("nan"), 1.0])
    with torch.no_grad():
        _, policy_loss, value_loss, _ = losses(net, planes, policies, values, 1.0)
        logits, predicted = net(planes)
    expect_p = -torch.log_softmax(logits, 1)[:3, 4].mean()
    has = ~torch.isnan(values)
    expect_v = ((predicted[has] - values[has]) ** 2).mean()
    assert torch.isfinite(value_loss) and torch.isfinite(policy_loss)
    assert float(policy_loss) == pytest.approx(float(expect_p), rel=1e-5)
    assert float(value_loss) == pytest.approx(float(expect_v), rel=1e-5)


@pytest.mark.parametrize("overrides, message", [
    (["learner.kind='bogus'"], "learner.kind"),
    (["learner.flip_probability=0.2"], "flip_probability"),  # an option of noisy_critic
    (["learner.kind='noisy_critic'", "learner.flip_probability=1.5"], "flip_probability"),
    (["learner.kind='no_critic'", "learner.search_critic='exact'"], "search_critic"),
])
def test_bad_learner_settings_are_refused_by_name(overrides, message):
    with pytest.raises((ConfigError, LearnerError), match=message):
        config = load_config("tictactoe", overrides=overrides)
        make_learner(GAME, config)


@pytest.mark.parametrize("kind", ["no_critic", "noisy_critic", "proxy_critic"])
def test_a_gate_on_the_games_results_is_refused_where_the_critic_is_not_the_result(kind):
    for gate in ("sprt", "threshold"):
        config = load_config("tictactoe", overrides=[f"learner.kind='{kind}'",
                                                     f"arena.gate='{gate}'"])
        with pytest.raises(LearnerError, match=f"arena.gate = '{gate}'") as refused:
            make_learner(GAME, config)
        assert "\n" not in str(refused.value)
    for exact in ("alphazero", "star"):  # their critic is the result: a gate may see it too
        make_learner(GAME, load_config("tictactoe", overrides=[f"learner.kind='{exact}'",
                                                               "arena.gate='sprt'"]))


@pytest.mark.parametrize("gate", ["sprt", "threshold"])
def test_a_gate_is_refused_where_the_search_is_blind_though_the_critic_is_the_result(gate):
    # alphazero with a blind search (the critic split's control): the results must not choose
    # its generator either
    config = load_config("tictactoe", overrides=["learner.kind='alphazero'",
                                                 "learner.search_critic='none'",
                                                 f"arena.gate='{gate}'"])
    with pytest.raises(LearnerError, match=f"arena.gate = '{gate}'.*search_critic") as refused:
        make_learner(GAME, config)
    assert "\n" not in str(refused.value)
    for critic in ("auto", "exact"):  # plain alphazero, or its search told to see the result
        make_learner(GAME, load_config("tictactoe", overrides=[
            "learner.kind='alphazero'", f"learner.search_critic='{critic}'",
            f"arena.gate='{gate}'"]))
    # a critic that is not the result stays refused, whatever its search sees
    with pytest.raises(LearnerError, match=f"arena.gate = '{gate}'"):
        make_learner(GAME, load_config("tictactoe", overrides=[
            "learner.kind='noisy_critic'", "learner.search_critic='exact'",
            f"arena.gate='{gate}'"]))


def test_a_hint_source_the_game_lacks_is_refused(monkeypatch):
    monkeypatch.setattr(games, "solver", lambda name: None)
    config = load_config("tictactoe", overrides=["learner.kind='star'",
                                                 "learner.rationalize=true"])
    with pytest.raises(LearnerError, match="has no solver"):
        make_learner(GAME, config)


def test_star_solver_hints_on_connect4_are_mistakes_and_the_same_after_a_restart():
    """Within a node budget what the solver settles depends on its table; each labelling starts
    it empty, so labelling again (as a resumed run does) finds the same hints."""
    c4 = games.get("connect4")
    recs, _ = play_games(c4, RolloutEvaluator(c4, 1, seed=1),
                         SearchConfig(simulations=0, dirichlet_fraction=0.0),
                         SelfPlayConfig(games_in_parallel=32, temperature_moves=42), 32, seed=1)
    star = Star(c4, "policy", 1.0, True, True, "solver", 100)
    first, stats = star.label(recs, None)
    again, _ = star.label(recs, None)
    hints = first[len(recs):]
    assert stats["rationalized"] == len(hints) > 0
    for a, b in zip(hints, again[len(recs):]):
        assert np.array_equal(a.states, b.states) and np.array_equal(a.policies, b.policies)
    solver = games.solver("connect4")
    for hint in hints:  # the hint's move keeps the position's win/draw/loss class
        scores = solver.move_scores(hint.states[0], 0)
        legal = scores != solver.ILLEGAL
        assert np.sign(scores[hint.policies[0].argmax()]) == np.sign(scores[legal].max())


def test_the_reward_model_is_trained_once_and_read_back_on_a_resume(tmp_path):
    config = load_config("tictactoe", overrides=["learner.kind='proxy_critic'",
                                                 "learner.proxy='reward_model'",
                                                 "learner.reward_games=20",
                                                 "learner.reward_steps=5"])
    states = games.get("tictactoe").new_states(3)
    first = make_learner(GAME, config, tmp_path)
    assert (tmp_path / "reward_model.ckpt").exists()
    again = make_learner(GAME, config, tmp_path)  # as a resumed run builds it
    assert np.array_equal(first.score(states), again.score(states))


def test_a_blind_search_with_an_exact_evaluator_finds_the_win():
    """Blind, a finished game's node is worth the evaluator's value there, on every visit: with
    an evaluator that knows the exact values (the solver's), the win in one is found again."""
    solver = games.solver("tictactoe")

    def exact(states, masks):
        values = np.sign(solver.solve(states)).astype(np.float32)
        return UniformEvaluator()(states, masks)[0], values

    state = GAME.position("1425")
    cfg = SearchConfig(simulations=400, dirichlet_fraction=0.0, solver=False,
                       exact_terminals=False)
    searcher = Searcher(GAME, exact, cfg, 1)
    searcher.set_roots(state[None])
    result = searcher.run()
    assert result.visits[0, 2] / result.visits[0].sum() > 0.5
    assert result.proven[0] == UNKNOWN  # nothing is proven in a blind search


# sha256 of the training positions (states, policies, values) of 8 self-play games with uniform
# priors, 16 simulations, seed 5 and value_target_search 0.25, computed by the code from before
# the learner seam (commit bd00d50, where self-play labelled its own games)
BEFORE_THE_SEAM = {
    "tictactoe": (38, "f9a8ad7949b34230247322a2b87afa6ab152e4d920578e5d3ef646268efa4989"),
    "connect4": (155, "9faf78446df23f87f3ed5d9ad9a383af716d7a71abe9206949ba9c0f140bcb05"),
}


@pytest.mark.parametrize("name", sorted(BEFORE_THE_SEAM))
def test_alphazero_labels_exactly_what_self_play_labelled_before_the_seam(name):
    """With no network in the loop (so no float differences between CPUs), the alphazero
    learner's targets are bit for bit those the pre-seam self-play wrote."""
    cfg = load_config(name)
    selfplay = replace(cfg.selfplay, games_in_parallel=8, value_target_search=0.25)
    records, _ = play_games(games.get(name), UniformEvaluator(),
                            replace(cfg.search, simulations=16), selfplay, 8, 5)
    trajectories, _ = make_learner(games.get(name), replace(cfg, selfplay=selfplay)).label(
        records, np.random.default_rng(0))
    digest = hashlib.sha256()
    for t in trajectories:
        for array in (t.states, t.policies, t.values):
            digest.update(np.ascontiguousarray(array).tobytes())
    assert (sum(len(t.states) for t in trajectories), digest.hexdigest()) == BEFORE_THE_SEAM[name]
