"""Fuzzing at scale (slow suite): the position parsers, `bestmove`'s position input and the
gymnasium env's `step`, over 12,500 generated inputs. Bad input raises GameError with a one-line
message and changes nothing; good input round-trips. The strategies are test_properties'."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cli import read_positions
from games import ONGOING, GameError
from games.env import GameEnv, planes
from test_properties import GAMES, positions, split_moves

pytestmark = pytest.mark.slow


def many(n):
    return settings(deadline=None, max_examples=n)


def notation(game):
    """Text of mostly the game's moves (and separators), with any other characters mixed in."""
    chars = st.one_of(st.sampled_from(game.move_names), st.sampled_from(game.move_names),
                      st.sampled_from([game.separator, " ", ","]), st.characters())
    return st.lists(chars, max_size=game.max_moves + 3).map("".join)


def one_line(error: GameError) -> str:
    message = str(error)
    assert len(message.splitlines()) == 1, repr(message)
    return message


def replay(game, moves):
    """(state, None) after the moves, or (state before it, index) at the first illegal one."""
    state = game.initial()
    for i, action in enumerate(moves):
        if game.outcome(state) != ONGOING or not game.legal(state)[action]:
            return state, i
        state = game.apply(state, action)
    return state, None


@many(3500)
@given(st.data())
def test_a_position_is_read_exactly_or_refused_in_one_line(data):
    game = data.draw(st.sampled_from(GAMES))
    text = data.draw(notation(game))
    tokens, bad = split_moves(game, text)
    if bad is not None:
        for parse in (game.parse_moves, game.position):
            with pytest.raises(GameError) as error:
                parse(text)
            assert repr(bad) in one_line(error.value)
        return
    moves = game.parse_moves(text)
    assert game.format_moves(moves) == game.separator.join(tokens)
    expected, illegal = replay(game, moves)
    if illegal is None:
        np.testing.assert_array_equal(game.position(text), expected)
        return
    with pytest.raises(GameError) as error:
        game.position(text)
    assert f"(move {illegal + 1} of " in one_line(error.value)


@many(3500)
@given(st.data())
def test_bestmove_input_reads_every_line_or_names_the_first_bad_one(data):
    game = data.draw(st.sampled_from(GAMES))
    good = positions(game).map(lambda p: game.format_moves(p[1]))
    lines = data.draw(st.lists(st.one_of(good, notation(game)), max_size=6))
    states, first_bad = [], None
    for number, line in enumerate(lines, 1):
        try:
            state = game.position(line)
        except GameError:
            state = None
        if state is None or game.outcome(state) != ONGOING:
            first_bad = number
            break
        states.append(state)
    if first_bad is None:
        np.testing.assert_array_equal(read_positions(game, lines),
                                      np.array(states, np.int64).reshape(-1, game.state_size))
        return
    with pytest.raises(GameError) as error:
        read_positions(game, lines)
    assert one_line(error.value).startswith(f"line {first_bad}: ")


@many(3000)
@given(st.data())
def test_one_move_is_read_when_legal_and_refused_in_one_line_otherwise(data):
    game, _, state = data.draw(positions())
    token = data.draw(st.one_of(st.sampled_from(game.move_names), st.text(max_size=3)))
    before = state.copy()
    name = token.strip().lower()
    legal = (name in game.move_names and game.outcome(state) == ONGOING
             and game.legal(state)[game.move_names.index(name)])
    try:
        action = game.parse_move(token, state)
    except GameError as error:
        one_line(error)
        assert not legal
    else:
        assert legal and game.format_move(action) == token.strip().lower()
    np.testing.assert_array_equal(state, before)


@many(2500)
@given(st.data())
def test_env_step_plays_legal_actions_and_refuses_others_changing_nothing(data):
    game = data.draw(st.sampled_from(GAMES))
    opponent = data.draw(st.sampled_from([None, "random"]))
    env = GameEnv(game, opponent=opponent, agent_plays=data.draw(st.integers(0, 1)))
    env.reset(seed=data.draw(st.integers(0, 2**16)))
    actions = data.draw(st.lists(st.one_of(st.integers(-2, game.num_actions + 1),
                                           st.floats(-2, game.num_actions + 1), st.booleans(),
                                           st.text(max_size=1)),
                                 max_size=game.max_moves + 4))
    for action in actions:
        before = env.state.copy()
        legal = (type(action) is int and game.outcome(before) == ONGOING
                 and 0 <= action < game.num_actions and game.legal(before)[action])
        try:
            obs, reward, terminated, truncated, info = env.step(action)
        except GameError as error:
            one_line(error)
            assert not legal
            np.testing.assert_array_equal(env.state, before)
            continue
        assert legal
        moved = game.apply(before, action)
        if opponent is None or game.outcome(moved) != ONGOING:
            np.testing.assert_array_equal(env.state, moved)
        else:  # the opponent answered with one legal move
            assert any(np.array_equal(env.state, game.apply(moved, int(b)))
                       for b in np.flatnonzero(game.legal(moved)))
        assert terminated == (game.outcome(env.state) != ONGOING) and not truncated
        viewer = game.player(env.state) if opponent is None else env.agent_plays
        np.testing.assert_array_equal(obs, planes(game, env.state, viewer))
        np.testing.assert_array_equal(info["action_mask"], game.legal(env.state))
