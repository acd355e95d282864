"""zeroplay's engine: everything but the games (games/) and the search (mcts/)."""
import os

# OpenMP threads that wait at the end of a parallel region sleep instead of spinning: on a
# machine that runs anything else, a spinning torch thread takes the core its descheduled peer
# (or another process) needs. Read once, when torch loads OpenMP, so set here, before any
# engine module imports torch; spawned workers inherit it. OMP_WAIT_POLICY=ACTIVE overrides.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
