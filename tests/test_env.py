"""The gymnasium environment (games.env) and the PettingZoo adapter (games.pettingzoo)."""
import importlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import games
from games import GameError
from games.env import GameEnv

IDS = {"tictactoe": "zeroplay/TicTacToe-v0", "connect4": "zeroplay/ConnectFour-v0"}


def make(game, **kwargs):
    return gym.make(IDS[game], **kwargs).unwrapped


@pytest.mark.parametrize("game", sorted(IDS))
@pytest.mark.parametrize("kwargs", [{}, {"opponent": "random"}], ids=["alternate", "opponent"])
def test_check_env(game, kwargs):
    check_env(make(game, render_mode="ansi", **kwargs))


def test_check_env_agent_second():
    # connect4 only: check_env steps without the mask, and in tic-tac-toe its fixed-seed
    # action hits the cell the opponent opened with
    check_env(make("connect4", opponent="random", agent_plays=1))


def test_ids_registered_once():
    importlib.reload(games)  # registering again must not fail or override
    env = gym.make("zeroplay/ConnectFour-v0")
    assert env.spec.id == "zeroplay/ConnectFour-v0"
    assert env.unwrapped.game.name == "connect4"
    assert env.action_space.n == 7 and env.observation_space.shape == (2, 6, 7)


@pytest.mark.parametrize("moves, winner", [
    ("1212121", 0),   # first player, vertical in column 1
    ("14151627", 1),  # second player, bottom row 4-7
])
def test_connect4_win_rewards_the_winner(moves, winner):
    env = make("connect4")
    _, info = env.reset(seed=0)
    actions = env.game.parse_moves(moves)
    for i, action in enumerate(actions):
        assert info["to_play"] == i % 2
        _, reward, terminated, truncated, info = env.step(action)
        last = i == len(actions) - 1
        assert (reward, terminated, truncated) == ((1.0, True, False) if last else (0.0, False, False))
    assert i % 2 == winner
    assert info["action_mask"].dtype == np.int8 and not info["action_mask"].any()


def test_draw_gives_zero():
    env = make("tictactoe")
    env.reset()
    for action in env.game.parse_moves("123546879"):  # X: 1 3 4 8 9 (no line), O: 2 5 6 7
        _, reward, terminated, _, _ = env.step(action)
    assert (reward, terminated) == (0.0, True)


def test_observation_is_from_movers_view():
    env = make("connect4")
    obs, _ = env.reset()
    assert obs.shape == (2, 6, 7) and obs.dtype == np.float32 and not obs.any()
    obs, _, _, _, info = env.step(3)  # first player, column 4
    assert info["to_play"] == 1
    assert obs[1, 5, 3] == 1 and obs.sum() == 1  # the opponent's stone, bottom row
    obs, _, _, _, info = env.step(3)  # second player on top of it
    assert info["to_play"] == 0
    assert obs[0, 5, 3] == 1 and obs[1, 4, 3] == 1 and obs.sum() == 2


@pytest.mark.parametrize("game, fill, illegal, message", [
    ("connect4", "111111", 0, "column 1 is full"),
    ("tictactoe", "5", 4, "cell 5 is taken"),
])
def test_illegal_move_raises_and_changes_nothing(game, fill, illegal, message):
    env = make(game)
    env.reset()
    for action in env.game.parse_moves(fill):
        env.step(action)
    before = env.state.copy()
    with pytest.raises(GameError, match=message):
        env.step(illegal)
    np.testing.assert_array_equal(env.state, before)
    _, reward, terminated, _, _ = env.step(1)  # the game goes on
    assert (reward, terminated) == (0.0, False)


def test_step_after_the_end_raises():
    env = make("tictactoe")
    env.reset()
    for action in env.game.parse_moves("14253"):
        env.step(action)
    with pytest.raises(GameError, match="over"):
        env.step(8)


def test_an_out_of_range_action_after_the_end_raises_and_changes_nothing():
    env = make("tictactoe")
    env.reset()
    for action in env.game.parse_moves("14253"):
        env.step(action)
    before = env.state.copy()
    with pytest.raises(GameError, match="over|out of range"):
        env.step(9)
    np.testing.assert_array_equal(env.state, before)


@pytest.mark.parametrize("game", sorted(IDS))
@pytest.mark.parametrize("agent_plays", [0, 1])
def test_random_opponent_games_end_in_time(game, agent_plays):
    env = make(game, opponent="random", agent_plays=agent_plays)
    rng = np.random.default_rng(1)
    results = []
    for episode in range(40):
        _, info = env.reset(seed=episode)
        for steps in range(1, env.game.max_moves + 1):
            assert info["to_play"] == agent_plays
            action = rng.choice(np.flatnonzero(info["action_mask"]))
            _, reward, terminated, truncated, info = env.step(action)
            assert not truncated
            if terminated:
                break
            assert reward == 0.0
        assert terminated and steps <= (env.game.max_moves + 1 - agent_plays) // 2
        results.append(reward)
    assert set(results) <= {-1.0, 0.0, 1.0} and {-1.0, 1.0} <= set(results)


def test_opponent_rewards_are_the_agents():
    def column_2(observation, mask):
        assert observation.shape == (2, 6, 7) and mask.dtype == np.int8
        return 1

    env = GameEnv("connect4", opponent=column_2)
    env.reset()
    steps = [env.step(0) for _ in range(4)]
    assert [step[1:3] for step in steps] == [(0.0, False)] * 3 + [(1.0, True)]
    obs = steps[-1][0]  # the final position, from the agent's view though the opponent is to move
    assert obs[0, 2:, 0].sum() == 4 and obs[1, 3:, 1].sum() == 3 and obs.sum() == 7

    env = GameEnv("connect4", opponent=lambda obs, mask: 0, agent_plays=1)
    obs, info = env.reset()
    assert info["to_play"] == 1 and obs[1, 5, 0] == 1  # the opponent opened in column 1
    steps = [env.step(1) for _ in range(3)]
    assert [step[1:3] for step in steps] == [(0.0, False)] * 2 + [(-1.0, True)]
    obs = steps[-1][0]  # the final position, still from the agent's view
    assert obs[0, 3:, 1].sum() == 3 and obs[1, 2:, 0].sum() == 4


def test_illegal_opponent_move_changes_nothing():
    env = GameEnv("connect4", opponent=lambda obs, mask: 0)
    env.reset()
    for _ in range(3):
        env.step(0)  # column 1 is now full
    before = env.state.copy()
    with pytest.raises(GameError, match="opponent"):
        env.step(1)
    np.testing.assert_array_equal(env.state, before)


def test_bad_arguments():
    with pytest.raises(GameError, match="unknown game"):
        GameEnv("chess")
    with pytest.raises(ValueError, match="opponent"):
        GameEnv("connect4", opponent="best")
    with pytest.raises(ValueError, match="agent_plays"):
        GameEnv("connect4", opponent="random", agent_plays=2)


def test_ansi_render_shows_the_board():
    env = make("connect4", render_mode="ansi")
    env.reset()
    env.step(3)
    env.step(3)
    assert env.render().splitlines()[-3:] == [". . . O . . .", ". . . X . . .", "1 2 3 4 5 6 7"]
    env = make("tictactoe", render_mode="ansi")
    env.reset()
    env.step(0)
    env.step(8)
    assert env.render() == "X . .\n. . .\n. . O"


# ---- PettingZoo ------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Observation:UserWarning")  # dict observations, as in PZ classic
@pytest.mark.parametrize("game", sorted(IDS))
def test_pettingzoo_api(game):
    pytest.importorskip("pettingzoo")
    from pettingzoo.test import api_test

    from games.pettingzoo import GameAECEnv, env
    api_test(env(game, render_mode="ansi"), num_cycles=200)
    api_test(GameAECEnv(game), num_cycles=200)


def test_pettingzoo_game_to_the_end():
    pytest.importorskip("pettingzoo")
    from games.pettingzoo import env

    aec = env("tictactoe", render_mode="ansi")
    aec.reset()
    assert aec.observe("player_0")["action_mask"].tolist() == [1] * 9
    assert aec.observe("player_1")["action_mask"].tolist() == [0] * 9  # not to move
    for action in aec.unwrapped.game.parse_moves("41529"):  # X: 4 5 9, O: 1 2
        aec.step(action)
    with pytest.raises(GameError, match="cell 4 is taken"):
        aec.step(3)
    aec.step(2)  # player_1 completes the top row
    assert aec.render().splitlines()[0] == "O O O"
    seen = {}
    for agent in aec.agent_iter():
        obs, reward, terminated, truncated, _ = aec.last()
        own, theirs = (np.flatnonzero(plane).tolist() for plane in obs["observation"])
        seen[agent] = (reward, terminated, truncated, own, theirs, obs["action_mask"].sum())
        aec.step(None)
    # each agent's own stones are on its plane 0
    assert seen == {"player_0": (-1.0, True, False, [3, 4, 8], [0, 1, 2], 0),
                    "player_1": (1.0, True, False, [0, 1, 2], [3, 4, 8], 0)}
