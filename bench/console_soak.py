"""Soak: the real console (`ekc` in tmux) working a shift against the demo contact stream.

It starts the backend on a fresh demo database (a temporary data folder), the contact
simulator (`ekc-admin simulate contacts --rate 20/min`, signed in as the demo admin, so
calls nobody answers are reported abandoned), and the real `ekc` in a tmux window of
120x40 signed in as operator1. For --minutes (default 60) it takes every third contact
posted (F2) and works it like an operator: a knowledge-base search typed in, the first
article opened and closed, the topic (Ctrl+T Enter), F8, outcome 1, a summary typed,
F9. Every minute it prints the console's RSS and CPU % (of one core) and the machine's
load; at the end the RSS growth after minute 10, then the console's CPU over a minute
idle with a card open. Targets (issue 11, point 3): after minute 10 RSS grows <= 10 MB in
total; idle with a card open CPU <= 5 %. Prints numbers; asserts nothing.

    .venv/bin/python bench/console_soak.py [--minutes 60] [--rate 20/min] [--every 3]
        [--port 8420] [--idle-seconds 60] [--trace DIR] [--proxy-rtt-ms 0 --proxy-stall 0]

--trace DIR runs the console under tracemalloc (10 frames) and writes, every
--trace-every minutes, a snapshot (DIR/snap-MMM.tm) and a line of object counts
(DIR/counts.jsonl: gc objects by type, the app's DOM nodes, workers, notifications,
threads); compare snapshots with `--compare DIR` (top growth by traceback).
--proxy-rtt-ms / --proxy-stall put a misbehaving TCP proxy of the bench's own between the
console and the backend: RTT/2 added each way, and each new connection silently stalled
(bytes swallowed, never answered) with the given probability, as on a bad satellite link.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OPERATOR = ("operator1", "oper122")
ADMIN = ("admin", "admin122")
SIZE = (120, 40)
QUERIES = ["мусор", "пособие", "лекарства", "контракт", "отопление", "автобус", "справка"]
SUMMARIES = [
    "Проконсультирован по порядку обращения, дан номер телефона ведомства",
    "Разъяснены сроки рассмотрения, гражданин удовлетворён ответом",
    "Дана справка по статье базы знаний, повторно звонить не требуется",
]
FREE = "Свободен"
CARD_OPEN = ("⇠ входящий", "⇢ исходящий")
PAGE = 4096


def log(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


# --- the console's process: RSS and CPU from /proc ------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (the main thread is the one with the process's id)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


# --- the backend, the simulator, the console ----------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="soak-", dir=args.work_root))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.session = f"soak-{os.getpid()}"
        # a tmux server of our own: another user's `tmux kill-server` does not end the run
        self.tmux = ["tmux", "-L", self.session]
        self.url = f"http://{args.host}:{args.port}"
        self.console_url = self.url
        self.arrivals = 0
        self.arrivals_lock = threading.Lock()
        self.pid = 0
        self.taken = 0
        self.saved = 0
        self.missed = 0
        self.stuck = 0

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EKC_")}
        env["EKC_DATA_DIR"] = str(self.work / "data")
        env.update(extra)
        return env

    def start_backend(self) -> None:
        db = f"sqlite:///{self.work / 'data' / 'ekc.db'}"
        (self.work / "data").mkdir()
        env = self.env(EKC_DATABASE_URL=db)
        subprocess.run(
            [*self.in_ns(self.args.server_netns), str(BIN / "ekc-server"), "db", "seed", "--demo"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        server_log = (self.work / "server.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                [
                    *self.in_ns(self.args.server_netns),
                    str(BIN / "ekc-server"),
                    "run",
                    "--host",
                    self.args.host,
                    "--port",
                    str(self.args.port),
                ],
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
        )
        check = (
            "import httpx, sys; sys.exit(httpx.get(sys.argv[1] + '/health', timeout=1)"
            ".status_code != 200)"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            probe = [*self.in_ns(self.args.server_netns), sys.executable, "-c", check, self.url]
            if subprocess.run(probe, stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("the backend did not start: see " + str(self.work / "server.log"))

    @staticmethod
    def in_ns(netns: str | None) -> list[str]:
        """The command prefix that runs a program in network namespace `netns` (satlink)."""
        return ["ip", "netns", "exec", netns] if netns else []

    def start_simulator(self) -> None:
        config = self.work / "simulator"
        env = self.env(EKC_CONFIG_DIR=str(config), EKC_SERVER_URL=self.url)
        subprocess.run(
            [
                *self.in_ns(self.args.server_netns),
                str(BIN / "ekc-admin"),
                "login",
                "--server",
                self.url,
                "--username",
                ADMIN[0],
                "--password",
                ADMIN[1],
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        proc = subprocess.Popen(
            [
                *self.in_ns(self.args.server_netns),
                str(BIN / "ekc-admin"),
                "simulate",
                "contacts",
                "--rate",
                self.args.rate,
                "--abandon-after",
                "180",
                "--seed",
                str(self.args.seed),
                "--json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=(self.work / "simulator.err").open("wb"),
        )
        self.procs.append(proc)

        def count() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                with contextlib.suppress(ValueError):
                    if json.loads(line).get("event") == "contact":
                        with self.arrivals_lock:
                            self.arrivals += 1

        threading.Thread(target=count, daemon=True).start()

    def start_console(self) -> None:
        console = self.work / "console"
        env = self.env(
            EKC_CONFIG_DIR=str(console),
            EKC_CONSOLE_DIR=str(console),
            EKC_PASSWORD=OPERATOR[1],
            TERM="xterm-256color",
        )
        command = [str(BIN / "ekc"), "--server", self.console_url, "--user", OPERATOR[0]]
        if self.args.trace:
            trace = Path(self.args.trace).resolve()
            trace.mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child-trace",
                str(trace),
                "--trace-every",
                str(self.args.trace_every),
                "--",
                *command[1:],
            ]
        env_args = [
            f"{k}={v}" for k, v in env.items() if k.startswith(("EKC_", "TERM", "PYTHONPATH"))
        ]
        command = [*self.in_ns(self.args.console_netns), "env", *env_args, *command]
        shell = "exec " + " ".join(_quote(a) for a in command)
        subprocess.run(
            [
                *self.tmux,
                "new-session",
                "-d",
                "-s",
                self.session,
                "-x",
                str(SIZE[0]),
                "-y",
                str(SIZE[1]),
                shell,
            ],
            check=True,
        )
        out = subprocess.run(
            [*self.tmux, "display", "-p", "-t", self.session, "#{pane_pid}"],
            check=True,
            capture_output=True,
            text=True,
        )
        self.pid = int(out.stdout.strip())
        # a console that dies leaves its last screen (the traceback) to read
        subprocess.run(
            [*self.tmux, "set-option", "-t", self.session, "remain-on-exit", "on"], check=False
        )
        if not self.wait_screen(lambda s: FREE in s and "на связи" in s, 90):
            raise RuntimeError("the console did not sign in:\n" + self.screen())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run([*self.tmux, "kill-session", "-t", self.session], check=False)
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # --- the keyboard and the screen -------------------------------------------------------

    def check_alive(self) -> None:
        if (
            not Path(f"/proc/{self.pid}").exists()
            or Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        ):
            (self.work / "console-exit.txt").write_text(self.screen())
            raise RuntimeError(
                f"the console ended: its last screen is in {self.work}/console-exit.txt"
            )

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.session, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.session, "-l", text], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.session], capture_output=True, text=True
        )
        return out.stdout

    def wait_screen(self, cond: object, timeout: float) -> bool:
        assert callable(cond)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond(self.screen()):
                return True
            time.sleep(0.25)
        return False

    def card_open(self, screen: str) -> bool:
        return any(mark in screen for mark in CARD_OPEN)

    # --- one contact worked like an operator -------------------------------------------------

    def take(self) -> bool:
        """F2 and wait for the card; False when the take did not give one (hung up, taken)."""
        self.keys("F2")
        self.taken += 1
        if self.wait_screen(self.card_open, 30):
            return True
        self.missed += 1
        return False

    def work_card(self, rng: random.Random, talk: float = 2.0) -> None:
        time.sleep(talk)
        self.type(rng.choice(QUERIES))  # the card opens with the KB search focused
        time.sleep(1.2)
        self.keys("Enter")  # the first article
        time.sleep(1.5)
        self.keys("Escape")
        time.sleep(0.5)
        self.pick_topic()
        self.keys("F8")  # conversation over: the wrap-up tab with the outcomes focused
        self.pick_outcome()
        self.type(rng.choice(SUMMARIES))  # the outcome picked, the summary has the focus
        time.sleep(0.4)

    def pick_topic(self) -> None:
        """Ctrl+T Enter: the assistant's topic (or the tree's first) is first in the picker."""
        self.keys("C-t")
        self.wait_screen(lambda s: "Enter — выбрать" in s, 5)
        time.sleep(0.3)
        self.keys("Enter")
        time.sleep(0.5)

    def pick_outcome(self) -> None:
        """Outcome 1 (consultation) once the outcomes list is on screen; again if lost."""
        for _ in range(3):
            self.wait_screen(lambda s: "1. ○" in s or "1. ●" in s, 10)
            time.sleep(0.3)
            self.keys("1")
            if self.wait_screen(lambda s: "1. ●" in s, 5):
                return
            self.keys("F5")

    def save(self) -> None:
        for attempt in range(3):
            if attempt:  # a key was lost under load: close what is open, fill what is missing
                self.keys("Escape")
                time.sleep(0.5)
                screen = self.screen()
                if "не выбрана" in screen or "Не заполнено: тематика" in screen:
                    self.pick_topic()
                self.keys("F5")
                self.pick_outcome()
            self.keys("F9")
            if self.wait_screen(lambda s: FREE in s, 10):
                self.saved += 1
                return
        self.stuck += 1
        (self.work / f"stuck-{self.stuck}.txt").write_text(self.screen())
        log(f"card not saved (screen kept in {self.work}/stuck-{self.stuck}.txt)")

    # --- the run -----------------------------------------------------------------------------

    def sampler(self, samples: list[tuple[int, float, float]], stop: threading.Event) -> None:
        """Every minute on the minute: the console's RSS and CPU % over that minute."""
        last_cpu, last_t = cpu_seconds(self.pid), time.monotonic()
        next_t, minute = last_t + 60, 0
        while not stop.wait(max(0.0, next_t - time.monotonic())):
            if not Path(f"/proc/{self.pid}").exists():
                return
            now, cpu, rss = time.monotonic(), cpu_seconds(self.pid), rss_mb(self.pid)
            minute += 1
            pct = 100 * (cpu - last_cpu) / (now - last_t)
            last_cpu, last_t, next_t = cpu, now, next_t + 60
            samples.append((minute, rss, pct))
            print(
                f"{minute:>4} {rss:>8.1f} {pct:>6.1f} {os.getloadavg()[0]:>5.2f} "
                f"{self.taken:>6} {self.saved:>6} {self.arrivals:>7}",
                flush=True,
            )

    def run(self) -> None:
        args = self.args
        rng = random.Random(args.seed)
        samples: list[tuple[int, float, float]] = []
        next_take_at = args.every
        print(
            f"{'min':>4} {'RSS MB':>8} {'CPU %':>6} {'load':>5} "
            f"{'taken':>6} {'saved':>6} {'posted':>7}"
        )
        print(f"{0:>4} {rss_mb(self.pid):>8.1f} {'':>6} {os.getloadavg()[0]:>5.2f}", flush=True)
        stop = threading.Event()
        sampler = threading.Thread(target=self.sampler, args=(samples, stop), daemon=True)
        sampler.start()
        end = time.monotonic() + args.minutes * 60
        try:
            while time.monotonic() < end:
                self.check_alive()
                with self.arrivals_lock:
                    due = self.arrivals >= next_take_at
                if due:
                    next_take_at += args.every
                    if self.take():
                        self.work_card(rng)
                        self.save()
                else:
                    time.sleep(0.3)
            time.sleep(max(0.0, end + 1 - time.monotonic()))  # the last minute's sample
        finally:
            stop.set()
            sampler.join()
        print()
        print(
            f"contacts posted {self.arrivals}, taken {self.taken} (no card: {self.missed}), "
            f"saved {self.saved}, not saved {self.stuck}"
        )
        base = next((rss for m, rss, _ in samples if m == 10), None)
        if base is not None and samples:
            last = samples[-1][1]
            peak = max(rss for m, rss, _ in samples if m >= 10)
            print(
                f"RSS at minute 10: {base:.1f} MB; at minute {samples[-1][0]}: {last:.1f} MB; "
                f"growth after minute 10: {last - base:+.1f} MB (peak {peak - base:+.1f}) "
                f"[target <= 10 MB]"
            )
        self.idle_card()

    def idle_card(self) -> None:
        """The console's CPU over --idle-seconds with a card open and nobody typing."""
        seconds = self.args.idle_seconds
        if seconds <= 0:
            return
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self.card_open(self.screen()):
            if FREE in self.screen() and "в очереди: 0" not in self.screen():
                self.take()
            time.sleep(1)
        if not self.card_open(self.screen()):
            print("idle with a card open: no card could be opened")
            return
        time.sleep(3)  # the card's own start-up work (history, suggestions)
        before, threads0, t0 = cpu_seconds(self.pid), thread_cpu(self.pid), time.monotonic()
        time.sleep(seconds)
        after, threads1, t1 = cpu_seconds(self.pid), thread_cpu(self.pid), time.monotonic()
        pct = 100 * (after - before) / (t1 - t0)
        main = 100 * (threads1.get("main", 0) - threads0.get("main", 0)) / (t1 - t0)
        print(
            f"idle with a card open: CPU {pct:.1f} % of a core over {t1 - t0:.0f} s "
            f"(main thread {main:.1f} %) [target <= 5 %]; load {os.getloadavg()[0]:.2f}"
        )
        self.keys("F8")
        self.pick_outcome()
        self.type(SUMMARIES[0])
        self.save()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# --- a misbehaving TCP proxy (a bad link of our own) -----------------------------------------


class BadLink:
    """Forward 127.0.0.1:`port` to `target`: RTT/2 of delay each way; each new connection
    is stalled (its bytes swallowed, never answered) with probability `stall`."""

    def __init__(self, port: int, target: int, rtt_ms: float, stall: float, seed: int) -> None:
        self.target = target
        self.delay = rtt_ms / 2000
        self.stall = stall
        self.rng = random.Random(seed)
        self.sock = socket.create_server(("127.0.0.1", port))
        self.stalled = 0
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.sock.accept()
            self.connections += 1
            if self.rng.random() < self.stall:
                self.stalled += 1
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _swallow(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    if not conn.recv(PAGE):
                        return
                except OSError:
                    return

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        pending: list[tuple[float, socket.socket, bytes]] = []
        peers = {a: b, b: a}
        try:
            while True:
                now = time.monotonic()
                while pending and pending[0][0] <= now:
                    _, dst, data = pending.pop(0)
                    dst.sendall(data)
                timeout = max(0.0, pending[0][0] - now) if pending else 1.0
                ready, _, _ = select.select([a, b], [], [], timeout)
                for src in ready:
                    data = src.recv(PAGE)
                    if not data:
                        return
                    pending.append((time.monotonic() + self.delay, peers[src], data))
        except OSError:
            return
        finally:
            a.close()
            b.close()


# --- tracemalloc in the console's own process ------------------------------------------------


def child_trace(directory: Path, every_minutes: float, argv: list[str]) -> None:
    """Run `ekc argv` with tracemalloc on; a thread dumps snapshots and object counts."""
    tracemalloc.start(10)

    def counts() -> dict[str, object]:
        objects = gc.get_objects()
        by_type = Counter(type(o).__qualname__ for o in objects)
        out: dict[str, object] = {"gc_objects": len(objects), "threads": threading.active_count()}
        from ekc_tui.app import EkcConsole

        app = next((o for o in objects if isinstance(o, EkcConsole)), None)
        del objects

        def from_app() -> dict[str, int]:  # on the UI thread: the DOM is not thread-safe
            assert app is not None
            return {
                "dom_nodes": sum(1 for _ in app.main.walk_children()),
                "screen_stack": len(app.screen_stack),
                "workers": len(list(app.workers)),
                "notifications": len(app._notifications),
                "worker_failures": len(app.worker_failures),
            }

        if app is not None:
            with contextlib.suppress(Exception):
                out.update(app.call_from_thread(from_app))
        out["top_types"] = by_type.most_common(40)
        return out

    def dump() -> None:
        n = 0
        while True:
            time.sleep(every_minutes * 60)
            n += 1
            gc.collect()
            tracemalloc.take_snapshot().dump(str(directory / f"snap-{n:03d}.tm"))
            with (directory / "counts.jsonl").open("a") as f:
                f.write(
                    json.dumps(
                        {
                            "n": n,
                            "traced_mb": tracemalloc.get_traced_memory()[0] / 2**20,
                            **counts(),
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )

    threading.Thread(target=dump, daemon=True, name="soak-trace").start()
    from ekc_tui.cli import main

    main(argv)


def compare(directory: Path, first: int, top: int) -> None:
    snaps = sorted(directory.glob("snap-*.tm"))
    if len(snaps) < 2:
        print("need two snapshots")
        return
    base = tracemalloc.Snapshot.load(str(snaps[min(first, len(snaps) - 1) - 1]))
    last = tracemalloc.Snapshot.load(str(snaps[-1]))
    flt = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen*")]
    base, last = base.filter_traces(flt), last.filter_traces(flt)
    print(f"{snaps[min(first, len(snaps) - 1) - 1].name} → {snaps[-1].name}")
    for stat in last.compare_to(base, "traceback")[:top]:
        print(
            f"\n{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks "
            f"(now {stat.size / 1024:.1f} KiB)"
        )
        for line in stat.traceback.format(limit=10):
            print("   ", line)


def main() -> None:
    if "--child-trace" in sys.argv:
        i = sys.argv.index("--child-trace")
        sep = sys.argv.index("--")
        every = float(sys.argv[sys.argv.index("--trace-every") + 1])
        child_trace(Path(sys.argv[i + 1]), every, sys.argv[sep + 1 :])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", default="20/min")
    parser.add_argument("--every", type=int, default=3, help="take every N-th contact posted")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--seed", type=int, default=122)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--work-root", default="/tmp")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--trace", help="tracemalloc snapshots into this folder")
    parser.add_argument("--trace-every", type=float, default=5.0, help="minutes")
    parser.add_argument("--compare", help="print the growth between the snapshots in DIR")
    parser.add_argument("--compare-from", type=int, default=1, help="first snapshot number")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--host", default="127.0.0.1", help="the backend's address")
    parser.add_argument("--server-netns", help="run the backend and the simulator there")
    parser.add_argument("--console-netns", help="run the console there (satlink: sat-cli)")
    parser.add_argument("--proxy-port", type=int, default=8421)
    parser.add_argument("--proxy-rtt-ms", type=float, default=0.0)
    parser.add_argument("--proxy-stall", type=float, default=0.0)
    args = parser.parse_args()
    if args.compare:
        compare(Path(args.compare), args.compare_from, args.top)
        return
    soak = Soak(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    link: BadLink | None = None
    try:
        log(f"work folder {soak.work}; backend on {soak.url}")
        soak.start_backend()
        if args.proxy_rtt_ms or args.proxy_stall:
            link = BadLink(
                args.proxy_port, args.port, args.proxy_rtt_ms, args.proxy_stall, args.seed
            )
            soak.console_url = f"http://127.0.0.1:{args.proxy_port}"
            log(f"console through the bad link on {soak.console_url}")
        soak.start_simulator()
        soak.start_console()
        log(f"console pid {soak.pid} signed in; soaking for {args.minutes:g} min")
        print(
            f"console soak: {args.minutes:g} min, {args.rate}, every {args.every}rd contact taken;"
            f" {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
            + (
                f"; bad link rtt {args.proxy_rtt_ms:g} ms, stall {args.proxy_stall:g}"
                if link
                else ""
            )
        )
        soak.run()
        if link is not None:
            print(f"bad link: {link.connections} connections, {link.stalled} stalled")
    finally:
        soak.stop()


if __name__ == "__main__":
    main()
