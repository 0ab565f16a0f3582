"""Backends for tests and benchmarks, on loopback ports (test support: not in the wheel).

- `serving(app)`: uvicorn in a thread of this process, serving an app built here with
  `create_app` (real HTTP on a real socket, no process start, no migration): what most
  tests want, through the `live_server` fixture.
- `running_server(url, data_dir)`: `ekc-server run` in a subprocess (its command line,
  migrations at start, `ekc_server.asgi`, several workers if asked): the `integration` tests
  and the benchmarks, which talk to it only through HTTP.

Both pick a free port unless given one, and stop the server when the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any, *, port: int = 0) -> Iterator[str]:
    """Serve the ASGI `app` with uvicorn in a thread of this process; yield its base URL.

    The socket is bound before the thread starts (port 0: the system picks a free one), so
    the URL answers as soon as the block starts. The app's lifespan runs in the server's
    event loop (housekeeping included), as under `ekc-server run`. On exit, requests still
    running (a long poll) get 2 s to finish, then the server stops.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(False)
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_config=None,  # the test process's logging as it is (pytest captures it)
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{bound}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if failure or not thread.is_alive():
                raise RuntimeError(f"in-process server did not start: {failure!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("in-process server did not start in 30 s")
            time.sleep(0.005)
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("in-process server did not stop in 15 s")


@contextmanager
def running_server(
    database_url: str, data_dir: Path, *, workers: int = 1, port: int | None = None
) -> Iterator[str]:
    """Start `ekc-server run` in a subprocess and yield its base URL; stop it afterwards."""
    port = port or free_port()
    env = {**os.environ, "EKC_DATABASE_URL": database_url, "EKC_DATA_DIR": str(data_dir)}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "server.log").open("a")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ekc_server.cli",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        stop(proc)
        log.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server process: SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
