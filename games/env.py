"""A gymnasium environment over any game: `gymnasium.make("zeroplay/ConnectFour-v0")`.

Default mode: the two players alternate through `step`. The observation is the game's planes
from the view of the player to move, the reward is from the view of the player who just moved
(+1 win, 0 draw, -1 loss) and `info` describes the next move: `action_mask` (int8 [A]) and
`to_play` (0 first player, 1 second).

With `opponent=` ("random", or any callable(observation, action_mask) -> action) the env plays
the other side: the agent plays first (`agent_plays=0`) or second (`agent_plays=1`, the opponent
then opens in `reset`); every observation, the last one included, is from the agent's view
and every reward is the agent's. An illegal move raises `GameError` naming it and changes nothing.
"""
from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import games
from games.interface import ONGOING, Game, GameError, action_number


class GameEnv(gym.Env):
    """Gymnasium adapter over `games.get(game)` (see the module docstring)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, game: str | Game = "connect4", opponent: str | Callable | None = None,
                 agent_plays: int = 0, render_mode: str | None = None):
        self.game = games.get(game) if isinstance(game, str) else game
        if opponent is not None and opponent != "random" and not callable(opponent):
            raise ValueError(f"opponent must be None, 'random' or a callable, not {opponent!r}")
        if agent_plays not in (0, 1):
            raise ValueError(f"agent_plays must be 0 (first) or 1 (second), not {agent_plays!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'ansi', not {render_mode!r}")
        self.opponent, self.agent_plays, self.render_mode = opponent, agent_plays, render_mode
        self.observation_space = spaces.Box(0.0, 1.0, self.game.planes, np.float32)
        self.action_space = spaces.Discrete(self.game.num_actions)
        self.state = self.game.initial()  # [S] int64, the current position

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state = self.game.initial()
        if self.opponent is not None and self.agent_plays == 1:
            self._play(self._opponent_action())
        return self._observation(), self._info()

    def step(self, action):
        before, mover = self.state, self.game.player(self.state)
        self._play(action_number(self.game, action))  # the check both envs share
        if self.opponent is not None and self.game.outcome(self.state) == ONGOING:
            try:
                self._play(self._opponent_action())
            except Exception:
                self.state = before  # a failing opponent leaves the position as it was
                raise
        outcome = self.game.outcome(self.state)
        terminated = outcome != ONGOING
        # outcome is the result for the player to move now; the reward is `mover`'s
        reward = 0.0 if not terminated else float(outcome if self.game.player(self.state) == mover
                                                  else -outcome)
        return self._observation(), reward, terminated, False, self._info()

    def render(self):
        if self.render_mode == "ansi":
            return self.game.render(self.state)
        gym.logger.warn("render() needs render_mode='ansi'")
        return None

    # ---- helpers --------------------------------------------------------------------------

    def _play(self, action: int) -> None:
        """Play `action` for the player to move; GameError (state unchanged) when illegal."""
        self.state = self.game.apply(self.state, action)

    def _opponent_action(self) -> int:
        mask = self.game.legal(self.state)
        if self.opponent == "random":
            return int(self.np_random.choice(np.flatnonzero(mask)))
        view = planes(self.game, self.state, self.game.player(self.state))  # the opponent's
        action = action_number(self.game, self.opponent(view, mask.astype(np.int8)))
        if not (0 <= action < len(mask) and mask[action]):
            raise GameError(f"{self.game.name}: the opponent chose illegal action {action}")
        return action

    def _observation(self) -> np.ndarray:
        viewer = self.game.player(self.state) if self.opponent is None else self.agent_plays
        return planes(self.game, self.state, viewer)

    def _info(self) -> dict:
        return {"action_mask": self.game.legal(self.state).astype(np.int8),
                "to_play": self.game.player(self.state)}


def planes(game: Game, state: np.ndarray, player: int) -> np.ndarray:
    """The [C, H, W] float32 planes of `state` from `player`'s view.

    Games encode from the mover's view with plane 0 = the mover's stones and plane 1 = the
    opponent's; for the player not to move these two planes are swapped.
    """
    out = np.zeros((1, *game.planes), np.float32)  # [1, C, H, W]
    game.encode(state[None], out)
    if player != game.player(state):
        out[0, [0, 1]] = out[0, [1, 0]]
    return out[0]
