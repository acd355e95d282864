"""Random games played side by side in zeroplay and in OpenSpiel (whose action numbers are
zeroplay's for every game here): legal moves, board, end of game and result at every step."""
import numpy as np

from games import ONGOING


def board(game, state) -> str:
    """The board as the characters X, O and . of zeroplay's render, top row first."""
    return "".join(c for c in game.render(state) if c in "XO.")


def assert_agree(game, spiel_game, n_games: int, seed: int, spiel_board, refused=None,
                 check=None) -> int:
    """Play n_games uniformly random games in both, asserting agreement at every position
    (spiel_board(spiel_state) -> the board as `board` writes it); the positions compared.
    Where the rules differ on purpose, refused(spiel_state, action) -> bool says whether a move
    that OpenSpiel allows and the game refuses is such a difference (None: there is none);
    check(state, spiel_state, where), when given, checks more at every position."""
    rng, positions = np.random.default_rng(seed), 0
    for _ in range(n_games):
        state, spiel, moves = game.initial(), spiel_game.new_initial_state(), []
        while True:
            where = f"after {game.format_moves(moves)!r}"
            ours, theirs = list(np.flatnonzero(game.legal(state))), spiel.legal_actions()
            if refused is None:
                assert ours == theirs, where
            else:
                assert set(ours) <= set(theirs), where
                assert all(refused(spiel, a) for a in set(theirs) - set(ours)), where
            assert (game.outcome(state) != ONGOING) == spiel.is_terminal(), where
            assert board(game, state) == spiel_board(spiel), where
            if check is not None:
                check(state, spiel, where)
            positions += 1
            if spiel.is_terminal():
                break
            action = int(rng.choice(ours))
            state, moves = game.apply(state, action), moves + [action]
            spiel.apply_action(action)
        outcome, returns = game.outcome(state), spiel.returns()
        mover = game.player(state)
        assert (returns[mover], returns[1 - mover]) == (outcome, -outcome), where
    return positions
