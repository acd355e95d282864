"""STaR (Zelikman et al. 2022) as rejection sampling: generate with the raw policy (or a light
search), keep only the winners' moves as one-hot policy targets; the value head on the results
(or not at all). With rationalize, each lost game gives one more target: at the losing side's
first move that a hint source shows to be a mistake, the hint's move (STaR's "rationalization":
the right answer, trained on as if found).

Hint sources: "solver", the game's perfect solver (a move is a mistake when its win/draw/loss
class is below the position's; the hint is the best-scored move; the positions before the last
one it cannot settle within HINT_NODES a move are passed over), or "teacher", a pure-MCTS search of
learner.teacher_simulations (a mistake is a move other than the teacher's pick)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

import games
from engine.config import Config
from engine.learners import LearnerError, one_hot, searched
from engine.selfplay import GameRecord, Trajectory
from games import Game

HINT_NODES = 20_000  # the solver's node budget per hinted position (early positions: unsettled)
TEACHER_BATCH = 64  # positions the teacher searches at once (its trees' memory)


@dataclass
class Star:
    game: Game
    generate_with: str  # "policy" or "search"
    temperature: float
    train_value: bool
    rationalize: bool
    hint: str
    teacher_simulations: int
    kind: str = "star"

    def generator(self, config: Config) -> Config:
        config = searched(config)
        selfplay = dataclasses.replace(config.selfplay, temperature=self.temperature,
                                       temperature_moves=self.game.max_moves,
                                       playout_cap_fraction=0.0, resign_threshold=-1.0)
        search = config.search
        if self.generate_with == "policy":  # one network call per move, no noise: the policy
            search = dataclasses.replace(search, simulations=0, dirichlet_fraction=0.0)
        return dataclasses.replace(config, selfplay=selfplay, search=search)

    def label(self, records: list[GameRecord], rng):
        trajectories = [self._kept(r) for r in records]
        stats = {"kept_share": (sum(int(t.policies.sum(axis=1).astype(bool).sum())
                                    for t in trajectories)
                                / max(sum(int(r.full.sum()) for r in records), 1))}
        if self.rationalize:
            hints, spent = self._hints([r for r in records if r.result != 0], rng)
            trajectories += hints
            stats.update(rationalized=len(hints), hint_evaluations=spent)
        return trajectories, stats

    def _kept(self, record: GameRecord) -> Trajectory:
        """The winner's moves as one-hot targets; with train_value, every position's result
        as its value target (positions of the loser and of draws carry no policy target)."""
        rows = np.flatnonzero(record.full)
        results = record.result_for(record.movers[rows])
        won = results > 0
        if not self.train_value:
            rows, results, won = rows[won], results[won], won[won]
        policies = one_hot(record.actions[rows], self.game.num_actions) * won[:, None]
        values = results if self.train_value else np.full(len(rows), np.nan)
        return Trajectory(record.states[rows], policies, values.astype(np.float32))

    def _hints(self, lost: list[GameRecord], rng) -> tuple[list[Trajectory], int]:
        """For each lost game, the hint at the loser's first mistake (one-hot, no value
        target); and the network-free work spent finding them (teacher simulations)."""
        loser_rows = [np.flatnonzero(r.movers == (1 if r.result > 0 else 0)) for r in lost]
        if self.hint == "solver":
            solver = games.solver(self.game.name)
            if hasattr(solver, "reset_table"):  # what a budget settles depends on the table:
                solver.reset_table()  # start it empty, so a resumed run finds the same hints
            found = [self._solver_hint(r, rows) for r, rows in zip(lost, loser_rows)]
            spent = 0
        else:
            found, spent = self._teacher_hints(lost, loser_rows, int(rng.integers(2**31)))
        hints = [Trajectory(r.states[row][None], one_hot(np.array([move]), self.game.num_actions),
                            np.full(1, np.nan, np.float32))
                 for r, (row, move) in zip(lost, found) if row >= 0]
        return hints, spent

    def _solver_hint(self, record: GameRecord, rows) -> tuple[int, int]:
        """The loser's first move that the solver shows to be a mistake, among the moves from
        the first position it settles within HINT_NODES on: positions are scored from the end
        of the game back (late ones are cheap) until one is not settled."""
        solver = games.solver(self.game.name)
        settled = []
        for row in rows[::-1]:
            scores = solver.move_scores(record.states[row], HINT_NODES)
            legal = scores != solver.ILLEGAL
            if (scores[legal] == solver.UNSOLVED).any() or not legal.any():
                break
            settled.append((row, scores, legal))
        for row, scores, legal in settled[::-1]:
            best = int(np.where(legal, scores, np.iinfo(np.int32).min).argmax())
            if np.sign(scores[record.actions[row]]) < np.sign(scores[best]):
                return row, best
        return -1, -1

    def _teacher_hints(self, lost, loser_rows, seed: int) -> tuple[list[tuple[int, int]], int]:
        from engine.players import mcts_player

        states = [r.states[rows] for r, rows in zip(lost, loser_rows)]
        if not lost or not sum(len(s) for s in states):
            return [(-1, -1)] * len(lost), 0
        teacher = mcts_player(self.game, self.teacher_simulations, seed=seed)
        states = np.concatenate(states)
        picks = np.concatenate([teacher.choose(states[i:i + TEACHER_BATCH])
                                for i in range(0, len(states), TEACHER_BATCH)])
        found, start = [], 0
        for r, rows in zip(lost, loser_rows):
            mine = picks[start:start + len(rows)]
            start += len(rows)
            wrong = np.flatnonzero(mine != r.actions[rows])
            found.append((int(rows[wrong[0]]), int(mine[wrong[0]])) if len(wrong) else (-1, -1))
        return found, start * self.teacher_simulations


def check(game: Game, config: Config) -> None:
    o = config.learner
    if o.rationalize and o.hint == "solver" and games.solver(game.name) is None:
        raise LearnerError(f"learner.hint = 'solver': {game.name} has no solver "
                           "(use hint = 'teacher')")


def build(game: Game, config: Config, run_dir=None) -> Star:
    o = config.learner
    return Star(game, o.generator, o.temperature, o.train_value, o.rationalize, o.hint,
                o.teacher_simulations)
