"""Check the Connect Four solver on one of Pascal Pons' scored sets, line by line, resumably:
each solved line is appended to a log (`index moves expected got seconds`), and a second call
goes on after the last line logged. For a set too long for one sitting (Test_L1_R3: hours of one
core); `--part K --parts N` takes the lines with index % N == K, so N processes share a machine.

    python docs/measurements/pons_set.py Test_L1_R3 --log docs/measurements/pons_L1_R3.log
    python docs/measurements/pons_set.py Test_L1_R3 --log LOG --part 0 --parts 2 &   # and 1
    python docs/measurements/pons_set.py Test_L1_R3 --log LOG --summary

The summary counts the set's lines logged in every part's log (LOG with .partK before its
suffix when --parts > 1) and the wrong ones; exit status 1 if any is wrong."""
import argparse
import sys
import time
from pathlib import Path

from games import connect4_solver as c4s

DATA = Path(__file__).resolve().parents[2] / "engine" / "data" / "connect4"


def part_log(log: Path, part: int, parts: int) -> Path:
    return log if parts == 1 else log.with_name(f"{log.stem}.part{part}{log.suffix}")


def logged(path: Path) -> dict[int, list[str]]:
    """index -> its logged fields, of whole lines (a line cut by a kill is ignored)."""
    if not path.exists():
        return {}
    rows = [line.split() for line in path.read_text().splitlines()]
    return {int(r[0]): r for r in rows if len(r) == 5}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set", help="a file of engine/data/connect4, e.g. Test_L1_R3")
    p.add_argument("--log", type=Path, required=True, help="where solved lines are appended")
    p.add_argument("--part", type=int, default=0, help="this process's share (default 0)")
    p.add_argument("--parts", type=int, default=1, help="processes sharing the set (default 1)")
    p.add_argument("--summary", action="store_true", help="count what every part has logged")
    args = p.parse_args()
    lines = [line.split() for line in (DATA / args.set).read_text().splitlines() if line.strip()]
    if args.summary:
        rows = {}
        for part in range(args.parts):
            rows.update(logged(part_log(args.log, part, args.parts)))
        wrong = [r for r in rows.values() if r[2] != r[3]]
        seconds = sum(float(r[4]) for r in rows.values())
        print(f"{args.set}: {len(rows)} of {len(lines)} lines solved, {len(wrong)} wrong, "
              f"{seconds / 3600:.2f} hours of solving")
        return 1 if wrong else 0
    log = part_log(args.log, args.part, args.parts)
    done = logged(log)
    with log.open("a") as out:
        for i, (moves, expected) in enumerate(lines):
            if i % args.parts != args.part or i in done:
                continue
            start = time.perf_counter()
            got = int(c4s.solve(c4s.from_moves(moves)[None])[0])
            out.write(f"{i} {moves} {expected} {got} {time.perf_counter() - start:.2f}\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
