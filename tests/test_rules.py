"""The rules against outside references: exact tic-tac-toe counts, OpenSpiel, Pons' solved positions."""
import numpy as np
import pytest

import games
from games import ONGOING
from games.check import check_game
from games.rng import make_rng
from spiel import assert_agree

TICTACTOE, CONNECT4 = games.get("tictactoe"), games.get("connect4")


def play_sequences(game, sequences):
    """[n, S] states after each move sequence, played with the batched kernels."""
    states = game.new_states(len(sequences))
    for t in range(max(map(len, sequences), default=0)):
        rows = np.array([i for i, seq in enumerate(sequences) if len(seq) > t], np.int64)
        moved = states[rows]
        game.play(moved, np.array([sequences[i][t] for i in rows], np.int64))
        states[rows] = moved
    return states


def children(game, states):
    """[n, A, S] the position after each action of each state, and [n, A] the legal masks."""
    masks = game.legal_masks(states)
    after = np.repeat(states, game.num_actions, axis=0)
    actions = np.tile(np.arange(game.num_actions), len(states))
    legal = masks.ravel()
    moved = after[legal]
    game.play(moved, actions[legal])
    after[legal] = moved
    return after.reshape(len(states), game.num_actions, game.state_size), masks


def test_tictactoe_counts_positions_and_games():
    """5,478 reachable positions (4,520 not over, 958 over) and 255,168 possible games."""
    frontier, paths = TICTACTOE.new_states(1), np.ones(1, np.int64)  # paths: games reaching it
    seen_over = seen_ongoing = games_played = 0
    while len(frontier):
        over = TICTACTOE.outcomes(frontier) != ONGOING
        seen_over += over.sum()
        seen_ongoing += (~over).sum()
        games_played += paths[over].sum()
        after, masks = children(TICTACTOE, frontier[~over])
        legal = masks.ravel()
        frontier, where = np.unique(after.reshape(-1, TICTACTOE.state_size)[legal], axis=0,
                                    return_inverse=True)
        paths = np.bincount(where.ravel(), weights=np.repeat(paths[~over], masks.sum(1)),
                            minlength=len(frontier)).astype(np.int64)
    assert (seen_ongoing, seen_over) == (4520, 958)
    assert games_played == 255_168


# ---- OpenSpiel -------------------------------------------------------------------------------------

@pytest.mark.parametrize("game", [CONNECT4, TICTACTOE], ids=lambda g: g.name)
def test_agrees_with_openspiel_over_random_games(game):
    pyspiel = pytest.importorskip("pyspiel")
    spiel_game = pyspiel.load_game(game.openspiel)  # actions: connect4 column 0-6, tictactoe cell 0-8
    assert_agree(game, spiel_game, 1000, 2024,
                 lambda spiel: "".join(c for c in str(spiel) if c in "xo.").upper())


def test_tictactoe_playouts_follow_uniform_random_play():
    """Playouts from the empty board end X win / draw / O win as often as uniform random play
    does: exact probabilities computed over OpenSpiel's rules."""
    pyspiel = pytest.importorskip("pyspiel")
    memo = {}

    def chances(state):  # [P(X wins), P(draw), P(O wins)] under uniform random play
        key = str(state)
        if key not in memo:
            if state.is_terminal():
                memo[key] = np.array([1.0, 0.0, -1.0]) == state.returns()[0]
            else:
                actions = state.legal_actions()
                memo[key] = sum(chances(state.child(a)) for a in actions) / len(actions)
        return memo[key]

    expected = chances(pyspiel.load_game("tic_tac_toe").new_initial_state())
    n = 50_000
    values = TICTACTOE.playouts(TICTACTOE.new_states(n), make_rng(7))
    observed = np.array([(values == v).mean() for v in (1.0, 0.0, -1.0)])
    assert np.all(np.abs(observed - expected) < 5 * np.sqrt(expected * (1 - expected) / n)), \
        (observed, expected)


# ---- Pons' solved Connect Four positions ---------------------------------------------------------

def immediate_win_score(ply):
    """Pons' score of winning with one's next stone: 22 - that player's stones once it is played."""
    return 22 - (ply // 2 + 1)


def winning_moves(states):
    """[n, 7] bool: which columns win at once (the game ends with -1 for the new player to move)."""
    after, _ = children(CONNECT4, states)
    return CONNECT4.outcomes(after.reshape(-1, CONNECT4.state_size)).reshape(len(states), -1) == -1


def test_pons_test_sets_have_no_immediate_win(connect4_data):
    """Pons' sets hold no finished position and, by their scores, none the mover wins at once."""
    lines = [line.split() for f in sorted(connect4_data.glob("Test_L*_R*"))
             for line in f.read_text().splitlines() if line.strip()]
    assert len(lines) == 6000
    states = play_sequences(CONNECT4, [CONNECT4.parse_moves(moves) for moves, _ in lines])
    assert (CONNECT4.outcomes(states) == ONGOING).all()
    expected = np.array([int(score) == immediate_win_score(len(moves)) for moves, score in lines])
    found = winning_moves(states).any(axis=1)
    bad = np.flatnonzero(found != expected)
    assert bad.size == 0, [lines[i] for i in bad[:5]]


@pytest.mark.parametrize("name", ["bench_moves.tsv", "pons_moves.tsv"])
def test_every_move_scored_files(connect4_data, name):
    """Per column of each position: full iff the solver wrote 'x'; the move wins at once iff its
    score is the quickest win's; the reply wins at once iff the move's score is the quickest loss."""
    rows = [line.split("\t") for line in (connect4_data / name).read_text().splitlines() if line]
    states = play_sequences(CONNECT4, [CONNECT4.parse_moves(r[0]) for r in rows])
    ply = np.array([len(r[0]) for r in rows])[:, None]
    scores = np.array([[99 if s == "x" else int(s) for s in r[3].split(",")] for r in rows])
    np.testing.assert_array_equal(CONNECT4.legal_masks(states), scores != 99)
    np.testing.assert_array_equal(winning_moves(states), scores == immediate_win_score(ply))

    after, masks = children(CONNECT4, states)
    reply_wins = np.zeros_like(masks)
    reply_wins[masks] = winning_moves(after[masks]).any(axis=1)
    expected = masks & (scores == -immediate_win_score(ply + 1))
    assert expected.sum() > 100  # the files hold such moves: the check has positives
    np.testing.assert_array_equal(reply_wins, expected)


@pytest.mark.parametrize("name", games.names())
def test_check_game_finds_no_problem(name):
    game = games.get(name)  # every registered game; 15x15 Gomoku's 225 moves a game: fewer
    assert check_game(game, n_games=200 if game.num_actions <= 100 else 20) == []
