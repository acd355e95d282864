"""Go 9x9's rules against OpenSpiel's `go` and hand-built positions (captures, suicide, ko,
positional superko, passes, Tromp-Taylor area with komi), its notation and adapters."""
import gymnasium as gym
import numpy as np
import pytest

import games
from games import GameError, go
from spiel import assert_agree

GO = games.get("go9")
KOMI = 7.5


def spiel_board(spiel) -> str:
    """OpenSpiel's board text (rows 9 to 1 after their numbers: X, O and +) as X, O and ."""
    rows = [line.split()[1] for line in str(spiel).splitlines() if line.strip()[:1].isdigit()]
    return "".join(rows).replace("+", ".")


def tromp_taylor(black: np.ndarray, white: np.ndarray) -> float:
    """Black's area minus White's minus komi, by a plain flood fill over [9, 9] bool boards:
    the test's own count, independent of games/go.py's bitboards."""
    score, seen = float(black.sum() - white.sum()), np.zeros((9, 9), bool)
    for start in zip(*np.nonzero(~(black | white))):
        if seen[start]:
            continue
        region, stack, reached = {start}, [start], set()
        while stack:
            r, c = stack.pop()
            for n in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= n[0] < 9 and 0 <= n[1] < 9:
                    if black[n] or white[n]:
                        reached.add("b" if black[n] else "w")
                    elif n not in region:
                        region.add(n)
                        stack.append(n)
        for point in region:
            seen[point] = True
        score += len(region) * ((reached == {"b"}) - (reached == {"w"}))
    return score - KOMI


def stones(state) -> tuple[np.ndarray, np.ndarray]:
    """(black, white) [9, 9] bool boards of a state, row 0 = row 1 of the board."""
    planes = np.zeros((1, *GO.planes), np.float32)
    GO.encode(state[None], planes)
    mover, other = planes[0, 0] > 0, planes[0, 1] > 0
    return (mover, other) if GO.player(state) == 0 else (other, mover)


def board_key(state) -> tuple:
    return tuple(state[[go.BLACK_LO, go.BLACK_HI, go.WHITE_LO, go.WHITE_HI]])


class SuperkoCheck:
    """At every position of the random games: a point that OpenSpiel allows is legal here
    exactly when the board it makes is none of the game's earlier boards (compared whole, not
    by hash); at each end, area_score equals the test's own count and OpenSpiel's winner."""

    def __init__(self):
        self.seen, self.refused, self.ends = set(), 0, {"two passes": 0, "move cap": 0}

    def __call__(self, state, spiel, where):
        if state[go.PLY] == 0:
            self.seen = set()
        self.seen.add(board_key(state))
        if GO.outcome(state) != games.ONGOING:
            return self.at_end(state, spiel, where)
        points = np.array([a for a in spiel.legal_actions() if a != GO.pass_action], np.int64)
        children = np.repeat(state[None], len(points), axis=0)
        GO.play(children, points)  # the board each move makes, legal or not
        repeats = np.array([board_key(child) in self.seen for child in children], bool)
        np.testing.assert_array_equal(GO.legal(state)[points], ~repeats, err_msg=where)
        self.refused += int(repeats.sum())

    def at_end(self, state, spiel, where):
        score = go.area_score(state)
        assert score == tromp_taylor(*stones(state)), where
        assert (score > 0) == (spiel.returns()[0] > 0), where  # player 0 is Black in both
        self.ends["two passes" if state[go.PASSES] == 2 else "move cap"] += 1


def superko_draw(spiel, action) -> bool:
    """OpenSpiel allows a move that repeats an earlier board and ends the game as a draw."""
    child = spiel.child(action)
    return child.is_terminal() and child.returns() == [0.0, 0.0]


@pytest.mark.parametrize("n_games", [200, pytest.param(1000, marks=pytest.mark.slow)])
def test_agrees_with_openspiel_over_random_games(n_games):
    """Legal moves (but for superko: OpenSpiel refuses only the simple ko's recapture and
    ends the game as a draw on a repeated board, where go9 refuses the move), boards, end of
    game, winner and score at every position of uniformly random games."""
    pyspiel = pytest.importorskip("pyspiel")
    check = SuperkoCheck()
    positions = assert_agree(GO, pyspiel.load_game(GO.openspiel), n_games, 5, spiel_board,
                             refused=superko_draw, check=check)
    assert positions > 50 * n_games and sum(check.ends.values()) == n_games
    assert check.ends["two passes"] and check.ends["move cap"]
    if n_games >= 1000:
        assert check.refused  # superko refusals happen in random games, and are checked


def test_openspiel_is_loaded_with_the_same_rules():
    pyspiel = pytest.importorskip("pyspiel")
    spiel = pyspiel.load_game(GO.openspiel)
    assert spiel.get_parameters() == {"board_size": 9, "komi": 7.5, "handicap": 0,
                                      "max_game_length": GO.max_moves}
    assert spiel.num_distinct_actions() == GO.num_actions and GO.pass_action == 81


def test_a_capture_and_a_multi_stone_capture():
    one = GO.position("a2 a1 b1")  # a1's liberties a2 and b1 taken by Black
    assert GO.render(one).splitlines()[-2] == "1 . X . . . . . . ."
    two = GO.position("a2 a1 b2 b1 c1")  # White a1-b1 loses its last liberty, c1
    black, white = stones(two)
    assert not white.any() and black.sum() == 3
    assert GO.legal(two)[[0, 1]].all()  # a1 and b1 are empty and playable again


def test_suicide_is_refused():
    single = GO.position("a2 pass b1")  # White a1 would have no liberty
    assert not GO.legal(single)[0]
    with pytest.raises(GameError, match="illegal move a1: .*suicide"):
        GO.apply(single, 0)
    # White a1-b1 has one liberty, c1: White filling it is suicide, Black filling it captures
    chain = GO.position("a2 a1 b2 b1 c2 pass d1")
    assert not GO.legal(chain)[2]
    assert GO.legal(GO.apply(chain, GO.pass_action))[2]


KO = "d5 e5 c4 d4 d3 f4 pass e3 e4"  # Black e4 takes White d4 in a ko


def test_ko_recapture_is_refused_at_once_but_not_after_moves_elsewhere():
    state = GO.position(KO)
    d4 = GO.parse_move("d4")
    assert not GO.legal(state)[d4]
    later = GO.position(KO + " a9 j9")  # the board has changed since: no repetition
    assert GO.legal(later)[d4]
    assert GO.render(GO.apply(later, d4)).splitlines()[5] == "4 . . X O . O . . ."


# "Sending two, returning one": White a1 puts a1-b1 in atari, Black c1 takes both, and White b1
# would take c1 back and remake the board after "pass d1 pass" (a real superko: Black took two
# stones, so it is no simple ko). OpenSpiel allows b1 and ends the game there as a draw.
SEND_TWO = "a2 b1 b2 c2 pass d1 pass a1 c1"


def test_positional_superko_refuses_a_repetition_that_is_no_simple_ko():
    state = GO.position(SEND_TWO)
    b1 = GO.parse_move("b1")
    assert not GO.legal(state)[b1] and GO.legal(state).sum() > 70
    with pytest.raises(GameError, match="illegal move b1: .*superko"):
        GO.apply(state, b1)
    pyspiel = pytest.importorskip("pyspiel")
    spiel = pyspiel.load_game(GO.openspiel).new_initial_state()
    for action in GO.parse_moves(SEND_TWO):
        spiel.apply_action(action)
    assert b1 in spiel.legal_actions() and superko_draw(spiel, b1)


def test_two_passes_in_a_row_end_the_game_and_area_decides():
    assert GO.outcome(GO.position("pass e5 pass")) == games.ONGOING
    over = GO.position("e5 pass pass")  # Black's stone owns the board: 81 - 7.5
    assert go.area_score(over) == 81 - KOMI and GO.outcome(over) == -1  # White to move lost
    empty = GO.position("pass pass")
    assert go.area_score(empty) == -KOMI and GO.outcome(empty) == -1  # Black to move lost
    assert not GO.legal(over).any()


def test_the_move_cap_ends_the_game():
    """Random games in which no one passes last MAX_MOVES = 162 moves (OpenSpiel's cap)."""
    rng = np.random.default_rng(0)
    for _ in range(3):
        state = GO.initial()
        while GO.outcome(state) == games.ONGOING:
            points = np.flatnonzero(GO.legal(state)[:GO.pass_action])
            state = GO.apply(state, int(rng.choice(points)) if len(points) else GO.pass_action)
        assert state[go.PLY] == GO.max_moves == 162 and state[go.PASSES] == 0


def diagram(text: str) -> np.ndarray:
    """A state with the stones of a diagram (rows 9 to 1, X black, O white), Black to move."""
    state = GO.initial()
    bits = {"X": 0, "O": 0}
    for r, line in enumerate(text.split()):
        for c, point in enumerate(line):
            if point in bits:
                bits[point] |= 1 << ((8 - r) * 9 + c)
    for colour, (lo, hi) in (("X", (go.BLACK_LO, go.BLACK_HI)), ("O", (go.WHITE_LO, go.WHITE_HI))):
        state[lo] = np.array(bits[colour] & (2 ** 64 - 1), np.uint64).view(np.int64)
        state[hi] = bits[colour] >> 64
    return state


def test_area_scoring_with_komi_dame_and_seki():
    walls = diagram(" ".join(["...XO...."] * 9))  # Black a-d, White e-j
    assert go.area_score(walls) == 36 - 45 - KOMI
    dame = diagram(" ".join(["..X.O...."] * 9))  # column d touches both colours: no one's
    assert go.area_score(dame) == 27 - 45 - KOMI
    # seki in the corner: White a2-d2-d1 and Black b1 share the liberties a1 and c1, which
    # count for no one; the stones count, and the rest is Black's (it reaches only Black)
    seki = diagram("......... " * 6 + "XXXXX.... OOOOX.... .X.OX....")
    black, white = stones(seki)
    assert (black.sum(), white.sum()) == (8, 5)
    assert go.area_score(seki) == tromp_taylor(black, white) == 8 + 66 - 5 - KOMI


def test_gtp_notation_and_symmetries():
    assert GO.parse_moves("a1 J9, E5 pass") == [0, 80, 40, 81]
    assert GO.format_moves([0, 8, 72, 81]) == "a1 j1 a9 pass"
    with pytest.raises(GameError, match="bad move 'i5'"):
        GO.parse_moves("e5 i5")
    with pytest.raises(GameError, match="illegal move e5: point e5 is taken"):
        GO.position("e5 e5")
    assert len(GO.cell_perms) == 8 and (GO.action_perms[:, GO.pass_action] == 81).all()


def test_planes():
    state = GO.position(KO)  # White to move; d4 refused by the ko
    planes = np.zeros((1, *GO.planes), np.float32)
    GO.encode(state[None], planes)
    mover, other, black_to_move, barred = planes[0]
    assert mover.sum() == 3 and other.sum() == 4 and not black_to_move.any()
    assert barred.sum() == 1 and barred[3, 3] == 1  # d4: row 4, column d


def test_gymnasium_and_pettingzoo():
    env = gym.make("zeroplay/Go9x9-v0")
    obs, info = env.reset()
    assert obs.shape == (4, 9, 9) and info["action_mask"].sum() == 82
    pettingzoo = pytest.importorskip("games.pettingzoo")
    aec = pettingzoo.env("go9")
    aec.reset()
    aec.step(40)
    assert aec.observe("player_1")["action_mask"].sum() == 81


def test_bench_rules_and_search_rows_beside_openspiel():
    pytest.importorskip("pyspiel")
    from engine import bench

    rules = bench.bench_rules(bench.Settings(games=("go9",), playouts=200, repeats=1,
                                             python_playouts=20))
    assert rules.rows[0]["game"] == "go9" and rules.rows[0]["ours / C++"] > 0
    search = bench.bench_search(bench.Settings(
        search_game="go9", search_positions=2, search_simulations=20, search_batches=(2,),
        search_repeats=1, long_simulations=0))
    rows = {r["search"]: r for r in search.rows}
    assert rows["ours, 1 rollout/leaf"]["vs OpenSpiel PUCT"] > 0
    assert rows["OpenSpiel MCTSBot PUCT, 1 rollout/leaf"]["sims/s"] > 0
