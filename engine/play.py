"""`zeroplay play`: a person against a player in the terminal, with the board's last move
marked, a legend of the moves, what the engine thinks of each of its moves, undo, hint and
new game."""
from __future__ import annotations

from games import ONGOING, Game, GameError

PLAYERS = "XO"  # the first player is X, as render draws it
COMMANDS = {"u": "undo", "undo": "undo", "h": "hint", "hint": "hint", "n": "new",
            "new": "new", "q": "quit", "quit": "quit"}
HELP = "u undo, h hint, n new game, q quit"


def mark(before: str, after: str) -> str:
    """The board `after`, each line indented one space, the one cell that changed since
    `before` in brackets: ' X .[O]'."""
    lines = []
    for old, new in zip(before.splitlines(), after.splitlines()):
        line = list(f" {new} ")
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                line[i], line[i + 2] = "[", "]"
        lines.append("".join(line).rstrip())
    return "\n".join(lines)


def legend(game: Game, board: str, state) -> list[str]:
    """Beside a board whose cells are its moves (tic-tac-toe), each free cell's move
    character, row by row; else nothing (Connect Four's board has its column numbers)."""
    rows = [line.split() for line in board.splitlines()]
    if sum(map(len, rows)) != game.num_actions:
        return []
    legal, out, i = game.legal(state), [], 0
    for row in rows:
        out.append(" ".join(game.format_move(i + j) if legal[i + j] else "."
                            for j in range(len(row))))
        i += len(row)
    return out


class Session:
    """One person against `think` (engine.thinking.Thinker) at `game`, the person playing
    side `human` (0: X, first)."""

    def __init__(self, game: Game, think, human: int, verbose: bool, opponent: str,
                 ask=input, say=print):
        self.game, self.think, self.human, self.verbose = game, think, human, verbose
        self.opponent, self.ask, self.say = opponent, ask, say
        self.moves: list[int] = []

    def state(self, moves=None):
        state = self.game.initial()
        for action in self.moves if moves is None else moves:
            state = self.game.apply(state, action)
        return state

    def run(self) -> int:
        """Play games until the person quits (or input ends); exit status 0."""
        self.say(self.intro())
        self.engine_moves()
        while True:
            self.show()
            command = self.read()
            if command == "quit":
                return 0
            actions = {"undo": self.undo, "hint": self.hint, "new": self.new}
            if command in actions:
                actions[command]()
            else:
                self.play(command)

    def intro(self) -> str:
        first = "move first" if self.human == 0 else f"move second; {PLAYERS[0]} starts"
        lo, hi = self.game.move_names[0], self.game.move_names[-1]
        return (f"{self.game.name}: you against {self.opponent}.\nYou are "
                f"{PLAYERS[self.human]} and {first}. Type a move ({lo}-{hi}) or {HELP}.")

    def read(self) -> str:
        """A command's name, or a move's text; 'quit' at the end of input."""
        over = self.game.outcome(self.state()) != ONGOING
        prompt = f"{HELP}: " if over else f"{PLAYERS[self.human]} to move: "
        try:
            text = self.ask(prompt).strip()
        except EOFError:
            return "quit"
        return COMMANDS.get(text.lower(), text)

    def show(self) -> None:
        """The board, the last move marked, the legend beside it; the result if it is over."""
        game, state = self.game, self.state()
        board = game.render(state)
        if self.moves:
            board = mark(game.render(self.state(self.moves[:-1])), board)
        else:
            board = "\n".join(f" {line}" for line in board.splitlines())
        lines = board.splitlines()
        width = max(map(len, lines))
        over = game.outcome(state) != ONGOING
        keys = [] if over else legend(game, game.render(state), state)
        self.say("\n".join(f"{line:<{width}}    {key}".rstrip()
                           for line, key in zip(lines, keys + [""] * len(lines))))
        if over:
            self.say(self.result(state))

    def result(self, state) -> str:
        outcome, mover = self.game.outcome(state), self.game.player(state)
        if outcome == 0:
            return "Draw."
        winner = mover if outcome == 1 else 1 - mover
        return "You win!" if winner == self.human else "You lose."

    def play(self, text: str) -> None:
        state = self.state()
        if self.game.outcome(state) != ONGOING:
            self.say(f"The game is over: {HELP}.")
            return
        try:
            action = self.game.parse_move(text, state)
        except GameError as e:
            self.say(f"{e} ({HELP})")
            return
        self.say(f"You play {self.game.format_move(action)}.")
        self.moves.append(action)
        self.engine_moves()

    def engine_moves(self) -> None:
        """The engine's move, while it is its turn and the game goes on."""
        state = self.state()
        if self.game.outcome(state) == ONGOING and self.game.player(state) != self.human:
            (view,) = self.think(state[None])
            self.tell(f"{PLAYERS[1 - self.human]} plays", view)
            self.moves.append(self.game.parse_move(view.move))

    def tell(self, who: str, view) -> None:
        from engine.thinking import describe, table

        self.say(f"{who} {describe(view)}")
        if self.verbose:
            self.say(table(view))

    def undo(self) -> None:
        """Take back the person's last move and the engine's reply to it."""
        mine = [i for i, _ in enumerate(self.moves) if i % 2 == self.human]
        if not mine:
            self.say("Nothing to undo.")
            return
        taken = self.game.format_moves(self.moves[mine[-1]:])
        self.moves = self.moves[:mine[-1]]
        self.say(f"Took back {' and '.join(taken)}.")

    def hint(self) -> None:
        state = self.state()
        if self.game.outcome(state) != ONGOING:
            self.say(f"The game is over: {HELP}.")
            return
        (view,) = self.think(state[None])
        self.tell("Hint:", view)

    def new(self) -> None:
        self.moves = []
        self.say("New game.")
        self.engine_moves()
