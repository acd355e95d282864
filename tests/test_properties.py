"""Properties of every game over generated move sequences (hypothesis)."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import games
from games import ONGOING, GameError
from games.rng import make_rng

quick = settings(deadline=None, max_examples=100)  # no deadline: the first call compiles

GAMES = [games.get(name) for name in games.names()]


def legal_sequence(game, picks):
    """Play picks[i] % (number of legal moves) at each step until the game ends; (moves, state)."""
    state, moves = game.initial(), []
    for pick in picks:
        legal = np.flatnonzero(game.legal(state))
        if legal.size == 0:
            break
        moves.append(int(legal[pick % legal.size]))
        state = game.apply(state, moves[-1])
    return moves, state


@st.composite
def positions(draw, game=None):
    """(game, moves, state): a legal move sequence of a game and the position it reaches."""
    game = game or draw(st.sampled_from(GAMES))
    picks = draw(st.lists(st.integers(0, 1 << 20), max_size=game.max_moves))
    return (game, *legal_sequence(game, picks))


def split_moves(game, text):
    """The move tokens of text as the contract reads them (games/interface.py), lower-cased,
    and the first that names no move (None when all do)."""
    text = text.strip()
    tokens = list(text) if not game.separator else text.replace(",", " ").split()
    names = set(game.move_names)
    return [t.lower() for t in tokens], next((t for t in tokens if t.lower() not in names), None)


def move_text(game):
    """A strategy: text of the game's moves, written as format_moves writes them."""
    return st.lists(st.sampled_from(game.move_names), max_size=60).map(game.separator.join)


def planes_of(game, states):
    out = np.zeros((len(states), *game.planes), np.float32)
    game.encode(states, out)
    return out


@quick
@given(positions())
def test_state_is_consistent_with_the_moves(position):
    game, moves, state = position
    ply, outcome, legal = len(moves), game.outcome(state), game.legal(state)
    planes = planes_of(game, state[None])[0]
    assert set(np.unique(planes)) <= {0.0, 1.0}
    assert (planes[0] + planes[1]).max(initial=0) <= 1
    if game.pass_action is None and not game.scored:  # a placement game: one stone a move
        assert (planes[0].sum(), planes[1].sum()) == (ply // 2, (ply + 1) // 2)  # mover's view
    assert game.player(state) == ply % 2
    if outcome == ONGOING:
        assert legal.any() and ply < game.max_moves
    else:
        assert not legal.any() and (game.scored or outcome in (-1, 0))  # only a count
        # lets the player to move have won; else the last mover won, or a draw
        assert (game.playouts(np.repeat(state[None], 8, 0), make_rng(ply, 8)) == outcome).all()
    values = game.playouts(np.repeat(state[None], 16, 0), make_rng(ply, 16))
    assert set(values) <= {-1.0, 0.0, 1.0}


@quick
@given(st.data())
def test_symmetries_keep_legality_and_outcome(data):
    game, moves, state = data.draw(positions())
    k = data.draw(st.integers(0, len(game.action_perms) - 1))
    action_perm, cell_perm = game.action_perms[k], game.cell_perms[k]
    image = game.initial()
    for a in moves:
        image = game.apply(image, int(action_perm[a]))  # GameError if the image move is illegal
    assert game.outcome(image) == game.outcome(state)
    np.testing.assert_array_equal(game.legal(image)[action_perm], game.legal(state))
    flat = planes_of(game, np.stack([state, image])).reshape(2, game.planes[0], -1)
    np.testing.assert_array_equal(flat[1][:, cell_perm], flat[0])


@quick
@given(st.data())
def test_notation_round_trips(data):
    game = data.draw(st.sampled_from(GAMES))
    text = data.draw(move_text(game))
    assert game.format_moves(game.parse_moves(text)) == text
    _, moves, state = data.draw(positions(game))
    np.testing.assert_array_equal(game.position(game.format_moves(moves)), state)


@quick
@given(st.sampled_from(GAMES), st.text(max_size=20))
def test_bad_notation_names_the_bad_character(game, text):
    _, bad = split_moves(game, text)
    assume(bad is not None)
    for parse in (game.parse_moves, game.position):
        with pytest.raises(GameError) as error:
            parse(text)
        assert repr(bad) in str(error.value)


@quick
@given(st.data())
def test_batched_kernels_equal_one_row_at_a_time(data):
    game = data.draw(st.sampled_from(GAMES))
    rows = data.draw(st.lists(positions(game), min_size=1, max_size=8))
    states = np.stack([state for _, _, state in rows])
    rng = make_rng(data.draw(st.integers(0, 1 << 30)), len(states))
    batched = [game.legal_masks(states), game.outcomes(states), game.to_play(states),
               planes_of(game, states), game.playouts(states.copy(), rng.copy())]
    for i in range(len(states)):
        one = states[i:i + 1]
        single = [game.legal_masks(one), game.outcomes(one), game.to_play(one),
                  planes_of(game, one), game.playouts(one.copy(), rng[i:i + 1].copy())]
        for b, s in zip(batched, single):
            np.testing.assert_array_equal(b[i], s[0])

    live = np.flatnonzero(batched[1] == ONGOING)
    actions = np.array([np.flatnonzero(batched[0][i])[-1] for i in live], np.int64)
    moved = states[live]
    game.play(moved, actions)
    for row, i, a in zip(moved, live, actions):
        np.testing.assert_array_equal(row, game.apply(states[i], int(a)))
