"""`zeroplay serve` under load (slow suite): 200 games at once from a local client for 30 s, on
loopback, against the command run as its own process. No game loses a move; the latencies'
percentiles are printed (docs/serve.md has them)."""
import asyncio
import os
import random
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

CLIENTS, SECONDS = 200, 30.0
# `zeroplay serve`, whether cli.py lists the command yet or not
SERVE = ("import sys; from engine import cli; from engine.serve import add_serve; "
         "add_serve in cli.COMMANDS or cli.COMMANDS.append(add_serve); "
         "sys.exit(cli.main(sys.argv[1:]))")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(url: str, process, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end and process.poll() is None:
        try:
            if httpx.get(url + "api/game").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not start (exit status {process.poll()})")


async def player(client, seed: int, simulations: int, end: float, latencies: list,
                 games: dict) -> int:
    """Play games until `end`, each response checked against this client's own record of its
    game; the games finished."""
    rng, finished = random.Random(seed), 0
    while time.monotonic() < end:
        game = await call(client, latencies, "api/games", {"simulations": simulations})
        while game["result"] is None and time.monotonic() < end:
            move = rng.choice(game["legal"])
            after = await call(client, latencies, f"api/games/{game['id']}/move", {"move": move})
            assert after["moves"].startswith(game["moves"] + move), (game, after)
            assert len(after["moves"]) == len(game["moves"]) + 1 + (after["result"] is None
                                                                    or after["engine"] is not None)
            game = after
        games[seed] = game
        finished += game["result"] is not None
    return finished


async def call(client, latencies: list, path: str, body: dict) -> dict:
    start = time.perf_counter()
    response = await client.post(path, json=body)
    latencies.append(time.perf_counter() - start)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def load(url: str, simulations: int) -> tuple[list, dict, int]:
    latencies, games = [], {}
    # idle connections closed by the client (2 s) before uvicorn's keep-alive timeout (5 s) can
    # close one under a request being sent on it
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS,
                          keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        end = time.monotonic() + SECONDS
        finished = await asyncio.gather(*(player(client, seed, simulations, end, latencies, games)
                                          for seed in range(CLIENTS)))
        for game in games.values():  # the server holds each game as its client saw it last
            held = (await client.get(f"api/games/{game['id']}")).json()
            assert held["moves"] == game["moves"], (held, game)
    return latencies, games, sum(finished)


@pytest.mark.slow
@pytest.mark.parametrize("simulations", [0, 50])
def test_200_games_at_once_for_30_seconds(simulations, capsys):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--game", "connect4",
                                "--checkpoint", "builtin", "--port", str(port)],
                               stdout=subprocess.DEVNULL, env={**os.environ})
    try:
        wait_up(url, process)
        httpx.post(url + "api/games", json={"simulations": simulations})  # compiles
        latencies, games, finished = asyncio.run(load(url, simulations))
    finally:
        process.terminate()
        process.wait(10)
    assert len(games) == CLIENTS
    ms = np.percentile(np.array(latencies) * 1000, [50, 90, 99, 100])
    with capsys.disabled():
        print(f"\nserve load: {CLIENTS} clients, {SECONDS:g} s, {simulations} simulations a "
              f"move: {len(latencies):,} requests ({len(latencies) / SECONDS:.0f}/s), "
              f"{finished:,} games finished; latency ms p50 {ms[0]:.0f}, p90 {ms[1]:.0f}, "
              f"p99 {ms[2]:.0f}, max {ms[3]:.0f}")
