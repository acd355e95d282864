"""A PettingZoo AEC environment over any game (needs the extra: pip install "zeroplay[pettingzoo]").

Agents "player_0" (moves first) and "player_1". As in PettingZoo's classic games, each
observation is a dict: "observation", the game's [C, H, W] float32 planes from the observing
agent's view, and "action_mask", int8 [A], all zero for the agent not to move. Rewards come
at the end: +1 to the winner, -1 to the loser, 0 each for a draw. An illegal move, or anything
but an integer (3.7, "3", True, None, [3]), raises `GameError` naming it and changes nothing:
the check the gymnasium env makes (games.interface.action_number).
"""
from __future__ import annotations

import numpy as np
from gymnasium import logger, spaces

try:
    from pettingzoo import AECEnv
    from pettingzoo.utils.wrappers import OrderEnforcingWrapper
except ModuleNotFoundError:
    raise ModuleNotFoundError('games.pettingzoo needs pettingzoo, not installed: '
                              'pip install "zeroplay[pettingzoo]"') from None

import games
from games.env import planes
from games.interface import ONGOING, Game, action_number


class GameAECEnv(AECEnv):
    """Two agents alternate over `games.get(game)` (see the module docstring)."""

    metadata = {"render_modes": ["ansi"], "name": "zeroplay_v0", "is_parallelizable": False}

    def __init__(self, game: str | Game = "connect4", render_mode: str | None = None):
        super().__init__()
        self.game = games.get(game) if isinstance(game, str) else game
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'ansi', not {render_mode!r}")
        self.render_mode = render_mode
        self.possible_agents = ["player_0", "player_1"]
        self.agents = self.possible_agents[:]
        obs_space = spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, self.game.planes, np.float32),
            "action_mask": spaces.Box(0, 1, (self.game.num_actions,), np.int8)})
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(self.game.num_actions)
                              for a in self.possible_agents}
        self.state = self.game.initial()  # [S] int64, the current position

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        """Start a new game (the rules hold no randomness, so `seed` changes nothing)."""
        self.state = self.game.initial()
        self.agents = self.possible_agents[:]
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = self.agents[0]

    def observe(self, agent):
        player = self.possible_agents.index(agent)
        mask = self.game.legal(self.state).astype(np.int8)
        if player != self.game.player(self.state):
            mask[:] = 0
        return {"observation": planes(self.game, self.state, player), "action_mask": mask}

    def step(self, action):
        mover = self.agent_selection
        if self.terminations[mover] or self.truncations[mover]:
            self._was_dead_step(action)
            return
        self.state = self.game.apply(self.state, action_number(self.game, action))
        self._cumulative_rewards[mover] = 0.0
        outcome = self.game.outcome(self.state)  # for the player to move now: not `mover`
        other = self.possible_agents[self.game.player(self.state)]
        if outcome == ONGOING:
            self.rewards = {a: 0.0 for a in self.agents}
        else:
            self.rewards = {mover: float(-outcome), other: float(outcome)}
            self.terminations = {a: True for a in self.agents}
        self.agent_selection = other
        self._accumulate_rewards()

    def render(self):
        if self.render_mode == "ansi":
            return self.game.render(self.state)
        logger.warn("render() needs render_mode='ansi'")
        return None

    def close(self):
        """Nothing to release (PettingZoo asks for close() beside render())."""


def env(game: str | Game = "connect4", render_mode: str | None = None) -> AECEnv:
    """The environment as PettingZoo's classic games give it: checked call order."""
    return OrderEnforcingWrapper(GameAECEnv(game, render_mode))
