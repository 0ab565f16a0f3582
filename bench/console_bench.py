"""Operator-console numbers (DESIGN.md section 6) on a seeded demo backend.

1. start to the first frame: the real `ekc` under a pseudo-terminal (160x48), signed in
   with a saved login; wall seconds from the fork until Textual starts drawing its first
   frame, and the child's CPU (wait4 rusage, user + sys; it is SIGKILLed at that moment),
   median of --runs; plus the CPU of just importing the console's modules;
   and quit: Ctrl+Q once the console is signed in and idle (its offers long poll waiting on
   the server), wall seconds until the process has exited, and its CPU, median of --runs;
2. memory: RSS (anonymous and file-backed) of `ekc` in a pseudo-terminal with the KB index
   open, after the first search and after a batch of --memory-queries searches typed into
   it, and its peak (ru_maxrss);
3. keystroke to results on the KB: the labelled queries (data/kb/queries) typed letter by
   letter at --cps into the running console (App.run_test). Keys go in as the terminal
   driver delivers them, at a fixed pace (Pilot.press waits for idle, which would slow the
   typist down exactly when the console is slow). For each key: from sending it to the
   first results shown for a text that includes it (its own prefix or a longer one; the
   final query at the latest), for the keys that search (from MIN_QUERY letters on: the
   first); were MIN_QUERY raised, the keys before it, which search nothing, on a line of
   their own and in an every-key p95. Beside it: each KbIndex.search the console ran, wall and CPU
   (`time.thread_time` of its worker), the CPU of the UI thread per key, and KbIndex.search
   alone on the same prefixes (the engine's share of the time);
4. contact posted by the gateway (admin) → its card with history on screen, on loopback
   and through a TCP proxy adding RTT/2 each way (a new connection's first bytes wait one
   more RTT, as a handshake would); "idle" waits past uvicorn's 5 s keep-alive first;
5. the keys of a standard consultation, and the contact as the server has it after F9.

The console is EkcConsole itself; the in-process runs use a subclass whose only change is
that `last_kb_results`, `last_card_ready` and `offers` also log every value with its time.
Prints numbers against the targets; asserts nothing.

    .venv/bin/python bench/console_bench.py [--kb-size 50000] [--rtt-ms 600] [--queries 32]
    .venv/bin/python bench/console_bench.py --only start --runs 7   # start and quit only
    .venv/bin/python bench/console_bench.py --only kb --kb-size 5000 --cache-dir DIR  # 2 and 3

The local KB index of N synthetic articles (bench/kb_corpus.py) is built once into
`--cache-dir` (50,000 articles: minutes) and linked into each console folder at the
backend's change-feed position, so the console's KB sync has nothing to fetch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import inspect
import os
import platform
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import textual
from sqlalchemy import create_engine, text
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot

from ekc_core.client import EkcClient
from ekc_core.enums import Channel, ContactOutcome, ContactStatus, Line
from ekc_core.schemas import ContactInbound, ContactPublic, Handoff
from ekc_tui.app import EkcConsole
from ekc_tui.panes.kb import MIN_QUERY, SEARCH_LIMIT
from ekc_tui.screens import ArticleScreen, PickerScreen
from ekc_tui.settings import ConsoleSettings
from kb_index import KbIndex, Synonyms
from kb_index.analysis import ANALYSIS_VERSION
from tests.localserver import running_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_corpus import make_corpus
from kb_relevance import load_queries

ROOT = Path(__file__).resolve().parent.parent
OPERATOR = ("operator1", "oper122")
ADMIN = ("admin", "admin122")
TOPIC = "housing.tko"
TRANSCRIPT = "Не вывозят мусор с контейнерной площадки третий день, баки переполнены"
SIZE = (160, 48)  # columns, rows: the "wide" layout of the console
F3 = b"\x1bOR"
#: Textual homes the cursor to draw its first frame (after the terminal set-up sequences);
#: no text of the console is assumed, as its wording changes
FIRST_FRAME = b"\x1b[1;1H"
ONLINE = "● на связи".encode()
#: uvicorn closes idle keep-alive connections after 5 s (its default)
KEEPALIVE_IDLE = 6.0
MEMORY_QUERY = "не вывозят мусор"


def log(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def pctl(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# --- the KB index, built once per size ------------------------------------------------------


def cached_index(size: int, cache_dir: Path) -> Path:
    """The console's index of `make_corpus(size)`, built once under `cache_dir`."""
    target = cache_dir / f"kb-index-{size}-v{ANALYSIS_VERSION}"  # rebuilt when analysis changes
    if (target / "CURRENT").exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    building = cache_dir / f".building-{size}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    articles = make_corpus(size)
    log(f"corpus of {size} generated in {time.perf_counter() - started:.0f} s; indexing")
    synonyms = Synonyms.load(ROOT / "data" / "kb" / "synonyms.txt")
    KbIndex.build(building, articles, synonyms=synonyms).close()
    building.rename(target)
    log(f"index of {size} articles built in {time.perf_counter() - started:.0f} s → {target}")
    return target


def _link_or_copy(src: str, dst: str) -> None:
    """Segments are linked (hundreds of MB); small files, the lock file among them, copied."""
    if src.endswith(".seg"):
        with contextlib.suppress(OSError):
            os.link(src, dst)
            return
    shutil.copy2(src, dst)


def install_index(cache: Path, kb_dir: Path, position: int) -> None:
    """A copy of the cached index (segments linked: Whoosh writes new files rather than
    change old ones), current to the backend's change-feed `position`."""
    shutil.copytree(cache, kb_dir, copy_function=_link_or_copy)
    gen = kb_dir / (kb_dir / "CURRENT").read_text(encoding="utf-8").strip()
    tmp = gen / ".POSITION.bench"
    tmp.write_text(str(position), encoding="utf-8")
    tmp.replace(gen / "POSITION")


# --- the backend ----------------------------------------------------------------------------


@dataclass
class Citizen:
    id: int
    phone: str
    contacts: int


@dataclass
class Backend:
    url: str
    work: Path
    index_cache: Path | None
    kb_position: int
    citizen: Citizen
    admin: EkcClient
    dirs: int = 0

    def console_dirs(self) -> tuple[Path, Path]:
        """A fresh console folder (with the big index) and config folder."""
        self.dirs += 1
        console = self.work / f"console-{self.dirs}"
        config = self.work / f"config-{self.dirs}"
        config.mkdir(parents=True)
        if self.index_cache is not None:  # else: the console syncs the demo KB itself
            install_index(self.index_cache, console / "kb-index", self.kb_position)
        return console, config

    def settings(self, url: str | None = None) -> ConsoleSettings:
        console, config = self.console_dirs()
        return ConsoleSettings(server_url=url or self.url, console_dir=console, config_dir=config)

    def post_call(self, tag: str) -> ContactPublic:
        return self.admin.post_contact(
            ContactInbound(
                channel=Channel.phone,
                line=Line.l122,
                caller_number=self.citizen.phone,
                external_id=f"console-bench-{tag}-{time.time_ns()}",
                handoff=Handoff(
                    transcript=TRANSCRIPT, detected_topic=TOPIC, detected_emotion="раздражение"
                ),
            )
        )


def seed(url: str, work: Path) -> float:
    """`ekc-server db seed --demo`, as an administrator would run it; seconds taken."""
    env = {**os.environ, "EKC_DATABASE_URL": url, "EKC_DATA_DIR": str(work)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ekc_server.cli", "db", "seed", "--demo"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def known_citizen(url: str) -> Citizen:
    """The citizen with the most contacts among those whose number is theirs alone."""
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.citizen_id, p.e164, "
                "(SELECT COUNT(*) FROM contact c WHERE c.citizen_id = p.citizen_id) AS n "
                "FROM citizen_phone p WHERE p.e164 IN (SELECT e164 FROM citizen_phone "
                "GROUP BY e164 HAVING COUNT(DISTINCT citizen_id) = 1) ORDER BY n DESC LIMIT 1"
            )
        ).one()
    engine.dispose()
    return Citizen(id=int(row[0]), phone=str(row[1]), contacts=int(row[2]))


def feed_position(client: EkcClient) -> int:
    since = 0
    while True:
        page = client.kb_changes(since=since, limit=1000)
        since = page.next_since
        if not page.more:
            return since


@contextlib.contextmanager
def backend(work: Path, index_cache: Path | None) -> Iterator[Backend]:
    url = f"sqlite:///{work / 'ekc.db'}"
    log(f"seeding the demo database ({seed(url, work):.0f} s)")
    citizen = known_citizen(url)
    with running_server(url, work) as base, EkcClient(base) as admin:
        admin.login(*ADMIN)
        yield Backend(base, work, index_cache, feed_position(admin), citizen, admin)


# --- 1, 2: the real console under a pseudo-terminal -------------------------------------------


class PtyConsole:
    """`ekc` in a child process on a pseudo-terminal of SIZE; the screen bytes are kept."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, become the console
            try:
                winsize = struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0)
                fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = bytearray()
        self._chunks: list[tuple[int, float]] = []  # (end offset, arrival) of each read
        self.rusage: Any = None

    def wait_for(self, marker: bytes, timeout: float = 30.0, since: int = 0) -> float:
        """perf_counter() when `marker` first arrived after byte `since` of the output."""
        deadline = time.perf_counter() + timeout
        scanned = since
        while True:
            at = self.screen.find(marker, scanned)
            if at >= 0:
                end = at + len(marker)
                return next(t for last, t in self._chunks if end <= last)
            scanned = max(since, len(self.screen) - len(marker))
            left = deadline - time.perf_counter()
            if left <= 0:
                tail = bytes(self.screen[-400:]).decode("utf-8", "replace")
                raise TimeoutError(f"{marker!r} not on screen in {timeout} s; last: {tail!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    tail = bytes(self.screen[-800:]).decode("utf-8", "replace")
                    raise RuntimeError(f"the console exited; last output: {tail!r}")
                self.screen += chunk
                self._chunks.append((len(self.screen), time.perf_counter()))

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def memory_now(self) -> dict[str, int]:
        """VmHWM, VmRSS, RssAnon, RssFile of the running child, bytes."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[name] = int(value.split()[0]) * 1024
        return out

    def kill(self) -> Any:
        """SIGKILL at once (so the rusage stops here) and reap: the child's rusage."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        _, _, self.rusage = os.wait4(self.pid, 0)
        os.close(self.fd)
        return self.rusage


def console_argv(console_dir: Path) -> list[str]:
    script = Path(sys.executable).with_name("ekc")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "ekc_tui"]
    return [*head, "--console-dir", str(console_dir)]


def console_env(be: Backend, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EKC_", "TEXTUAL"))}
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        EKC_SERVER_URL=be.url,
        EKC_CONFIG_DIR=str(config_dir),
    )
    return env


def save_login(settings: ConsoleSettings) -> str:
    """Sign in once as the operator would (the console keeps the token); the full name."""
    from ekc_tui.desk import Desk

    desk = Desk(settings)
    try:
        return desk.sign_in(settings.server_url, *OPERATOR).full_name
    finally:
        desk.close()


@dataclass
class StartRun:
    wall: float
    cpu: float
    rss: int


def first_frames(be: Backend, runs: int) -> tuple[list[StartRun], list[float]]:
    """Start `ekc` `runs` times; stop it the moment its first frame is on the terminal.

    The first frame begins with the cursor sent home to draw the main screen. The child is
    killed right then, so its rusage (user + sys) covers start to first frame. As many
    further runs wait for the signed-in status instead ("● на связи"), for the record.
    """
    settings = be.settings()
    save_login(settings)
    argv, env = console_argv(settings.console_dir), console_env(be, settings.config_dir)
    results, online = [], []
    for _ in range(runs):
        con = PtyConsole(argv, env)
        try:
            at = con.wait_for(FIRST_FRAME)
        finally:
            usage = con.kill()
        results.append(
            StartRun(at - con.started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
        )
    for _ in range(runs):
        con = PtyConsole(argv, env)
        try:
            online.append(con.wait_for(ONLINE) - con.started)
        finally:
            con.kill()
    return results, online


CTRL_Q = b"\x11"


@dataclass
class QuitRun:
    wall: float
    cpu: float
    """user + sys of the whole run (start, sign-in, idle, quit)."""
    quit_cpu: float
    """CPU from Ctrl+Q to the exit (the child's /proc stat before and its rusage after)."""


def proc_cpu(pid: int) -> float:
    """user + sys seconds of a running process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quits(be: Backend, runs: int, idle: float = 2.0) -> list[QuitRun]:
    """Start `ekc`, wait until signed in (the offers long poll is then waiting on the
    server) and `idle` seconds more, press Ctrl+Q: seconds until the process has exited."""
    settings = be.settings()
    save_login(settings)
    argv, env = console_argv(settings.console_dir), console_env(be, settings.config_dir)
    results = []
    for _ in range(runs):
        con = PtyConsole(argv, env)
        try:
            con.wait_for(ONLINE)
            time.sleep(idle)
            before = proc_cpu(con.pid)
            pressed = time.perf_counter()
            con.type(CTRL_Q)
            deadline = pressed + 60.0
            status = None
            while time.perf_counter() < deadline:
                select.select([con.fd], [], [], 0.05)
                with contextlib.suppress(OSError):
                    os.read(con.fd, 65536)  # keep the terminal drained
                pid, status, usage = os.wait4(con.pid, os.WNOHANG)
                if pid:
                    break
            exited = time.perf_counter()
        finally:
            if status is None:
                usage = con.kill()
            else:
                os.close(con.fd)
        cpu = usage.ru_utime + usage.ru_stime
        results.append(QuitRun(exited - pressed, cpu, cpu - before))
    return results


def start_rows(be: Backend, runs: int) -> list[Row]:
    """1: start to the first frame, and quit (wall and CPU, medians)."""
    log("1. console start to the first frame (pty)")
    starts, online = first_frames(be, runs)
    wall = statistics.median(s.wall for s in starts)
    cpu = statistics.median(s.cpu for s in starts)
    rows = [
        Row(
            "1. start → first frame, wall",
            f"{wall:.2f} s",
            "≤ 1.0 s",
            f"median of {len(starts)}: "
            + " ".join(f"{s.wall:.2f}" for s in starts)
            + f"; signed in (online) {statistics.median(online):.2f} s",
        ),
        Row(
            "   start → first frame, CPU",
            f"{cpu:.2f} s",
            "",
            "user+sys of the child, median: " + " ".join(f"{s.cpu:.2f}" for s in starts),
        ),
    ]
    bare, imports = import_cpu(runs)
    rows.append(
        Row(
            "   of which: interpreter + imports",
            f"{imports:.2f} s",
            "",
            f"CPU of `python -c 'import ekc_tui.cli, ekc_tui.app'` (bare python {bare:.2f} s),"
            f" median of {runs}; RSS at first frame "
            f"{statistics.median(s.rss for s in starts) / 2**20:.0f} MB",
        )
    )
    log("1. quit (Ctrl+Q) while the offers long poll waits (pty)")
    qs = quits(be, runs)
    rows.append(
        Row(
            "1. Ctrl+Q → process exited, wall",
            f"{statistics.median(q.wall for q in qs):.2f} s",
            "≤ 1.0 s",
            f"median of {len(qs)}: " + " ".join(f"{q.wall:.2f}" for q in qs),
        )
    )
    rows.append(
        Row(
            "   Ctrl+Q → exited, CPU",
            f"{statistics.median(q.quit_cpu for q in qs):.2f} s",
            "",
            "user+sys of the child after Ctrl+Q, median: "
            + " ".join(f"{q.quit_cpu:.2f}" for q in qs),
        )
    )
    return rows


def spawn_cpu(argv: list[str]) -> float:
    """user + sys seconds of a child run to its end."""
    pid = os.posix_spawn(argv[0], argv, dict(os.environ))
    _, _, usage = os.wait4(pid, 0)
    return float(usage.ru_utime + usage.ru_stime)


def import_cpu(runs: int) -> tuple[float, float]:
    """Median CPU of a bare interpreter, and of one importing what `ekc` imports before
    its first frame (ekc_tui.cli, ekc_tui.app), without starting the UI."""
    bare = [spawn_cpu([sys.executable, "-c", "pass"]) for _ in range(runs)]
    imports = [
        spawn_cpu([sys.executable, "-c", "import ekc_tui.cli, ekc_tui.app"]) for _ in range(runs)
    ]
    return statistics.median(bare), statistics.median(imports)


@dataclass
class MemoryRun:
    articles_on_screen: float
    status: dict[str, int]
    """/proc status of `ekc` after the first query's results."""
    batch_status: dict[str, int]
    """The same after the whole batch of queries."""
    maxrss: int
    cpu: float
    queries: int


CTRL_U = b"\x15"  # the query box: delete everything left of the cursor
#: in both «Найдено: N» and «Ничего не найдено» (the KB pane's line about the results)
RESULTS_LINE = "айдено".encode()


def memory_after_search(be: Backend, size: int, queries: list[str]) -> MemoryRun:
    """Start `ekc`, wait until the KB is open, F3, type the first query and wait for its
    results (RSS then), then the rest of the batch the same way (RSS again)."""
    settings = be.settings()
    save_login(settings)
    con = PtyConsole(console_argv(settings.console_dir), console_env(be, settings.config_dir))
    first: dict[str, int] = {}
    try:
        kb_open = con.wait_for(f"статей: {size}".encode(), timeout=60)
        time.sleep(1.0)  # the first KB sync after sign-in
        con.type(F3)
        time.sleep(0.2)
        for n, query in enumerate(queries):
            con.type(CTRL_U)
            time.sleep(0.2)
            mark = len(con.screen)
            for ch in query:
                con.type(ch.encode())
                time.sleep(0.02)
            con.wait_for(RESULTS_LINE, timeout=60, since=mark)
            time.sleep(1.0 if n == 0 else 0.3)  # the last keys' searches
            if n == 0:
                first = con.memory_now()
        now = con.memory_now()
    finally:
        usage = con.kill()
    return MemoryRun(
        kb_open - con.started,
        first,
        now,
        usage.ru_maxrss * 1024,
        usage.ru_utime + usage.ru_stime,
        len(queries),
    )


# --- 3, 4, 5: the console in-process (App.run_test) ------------------------------------------


class BenchConsole(EkcConsole):
    """The console, with every value of its bench timestamps logged (not only the last).

    `last_kb_results`, `last_card_ready` and `offers` are plain attributes of EkcConsole;
    here they are properties that also append (perf_counter(), value) to a log.
    """

    CSS_PATH = str(Path(inspect.getfile(EkcConsole)).parent / str(EkcConsole.CSS_PATH))

    def bench_log(self, name: str) -> list[Any]:
        """(perf_counter(), value) of every assignment: "kb", "card" or "offers"."""
        logs: dict[str, list[Any]] = self.__dict__.setdefault("_bench_logs", {})
        return logs.setdefault(name, [])

    @property
    def last_kb_results(self) -> tuple[float, str] | None:
        entries = self.bench_log("kb")
        return entries[-1] if entries else None

    @last_kb_results.setter
    def last_kb_results(self, value: tuple[float, str] | None) -> None:
        if value is not None:
            self.bench_log("kb").append(value)

    @property
    def last_card_ready(self) -> float | None:
        entries = self.bench_log("card")
        return entries[-1] if entries else None

    @last_card_ready.setter
    def last_card_ready(self, value: float | None) -> None:
        if value is not None:
            self.bench_log("card").append(value)

    @property
    def offers(self) -> list[ContactPublic]:
        entries = self.bench_log("offers")
        current: list[ContactPublic] = entries[-1][2] if entries else []
        return current

    @offers.setter
    def offers(self, value: list[ContactPublic]) -> None:
        self.bench_log("offers").append((time.perf_counter(), [c.id for c in value], value))

    def send_key(self, key: str) -> float:
        """A key as the terminal driver delivers it; returns perf_counter() when sent.

        Unlike `pilot.press`, does not wait for the app to go idle, so typing keeps its pace.
        """
        if key == " ":
            name, char = "space", " "
        elif len(key) == 1:
            name, char = (key if key.isalnum() else _character_to_key(key)), key
        else:
            name, char = key, None
        driver = self._driver
        assert driver is not None
        at = time.perf_counter()
        driver.send_message(events.Key(name, char))
        return at


#: exceptions the console raised while shutting down after a measurement was taken
EXIT_ERRORS: list[str] = []


@contextlib.asynccontextmanager
async def running(app: BenchConsole) -> AsyncIterator[Pilot[None]]:
    """`app.run_test()`; an error the console raises only while it exits (after the
    measurement) is recorded in EXIT_ERRORS rather than lost with the numbers."""
    body_done = False
    try:
        async with app.run_test(size=SIZE) as pilot:
            yield pilot
            body_done = True
    except Exception as exc:
        if not body_done:
            raise
        EXIT_ERRORS.append(f"{type(exc).__name__}: {str(exc)[:160]}")
        if exc.__cause__ is not None:
            EXIT_ERRORS[-1] += f" (cause: {type(exc.__cause__).__name__})"
    finally:
        app.desk.close()


async def until(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.perf_counter() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.perf_counter() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what or check}")
        await asyncio.sleep(0.005)


async def settled(app: BenchConsole, size: int) -> None:
    """Signed in, reference data loaded, the KB open, the offers long poll waiting."""
    await until(lambda: app.desk.me is not None and app.ref is not None, what="sign-in")
    await until(lambda: app.kb_count >= size, timeout=60, what="the KB index")
    await until(lambda: app.bench_log("offers"), what="the first offers")
    await asyncio.sleep(1.0)


@dataclass
class TypingResult:
    per_key: list[float] = field(default_factory=list)
    """Keys that start a search (their text has MIN_QUERY letters or more)."""
    first_letters: list[float] = field(default_factory=list)
    """Of those, the keys of a query's first two letters (a short prefix's completions)."""
    from_third: list[float] = field(default_factory=list)
    """The others (from the third letter on)."""
    before_search: list[float] = field(default_factory=list)
    """The first keys of a query, before MIN_QUERY letters: they search nothing, by design,
    and wait for the first prefix that does."""
    final: list[float] = field(default_factory=list)
    exact: int = 0
    keys: int = 0
    queries: int = 0
    first_key: float = 0.0
    searches: list[float] = field(default_factory=list)
    """Each KbIndex.search the console ran while typing: seconds, lock wait included."""
    search_cpu: list[float] = field(default_factory=list)
    """The same calls' CPU (`time.thread_time` of the thread that ran them)."""
    ui_cpu: float = 0.0
    """CPU of the UI thread (the event loop the console and this bench share) while typing."""
    typing_wall: float = 0.0


def pick_queries(count: int) -> list[str]:
    queries = [q.query for q in load_queries()]
    if count >= len(queries):
        return queries
    step = len(queries) / count
    return [queries[int(i * step)] for i in range(count)]


async def typing_bench(
    be: Backend, size: int, queries: list[str], cps: float, url: str | None = None
) -> TypingResult:
    app = BenchConsole(be.settings(url), login=OPERATOR, background=True)
    result = TypingResult()
    pause = 1.0 / cps
    async with running(app) as pilot:
        await settled(app, size)
        index = app.desk.kb.index
        search = index.search

        def timed_search(text: str, **kwargs: Any) -> Any:  # a probe: same call, timed
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return search(text, **kwargs)
            finally:
                result.searches.append(time.perf_counter() - started)
                result.search_cpu.append(time.thread_time() - cpu)

        index.search = timed_search  # type: ignore[method-assign]
        await pilot.press("f3")
        box = app.query_one("#kb-query")
        ui_cpu, wall = time.thread_time(), time.perf_counter()
        for query in queries:
            box.value = ""  # type: ignore[attr-defined]
            await pilot.pause(0.3)
            log_kb = app.bench_log("kb")
            start = len(log_kb)
            pressed: list[float] = []
            beat = time.perf_counter()
            for i, ch in enumerate(query):
                await asyncio.sleep(max(0.0, beat + i * pause - time.perf_counter()))
                pressed.append(app.send_key(ch))
            await until(
                lambda q=query, s=start, kb=log_kb: any(v == q for _, v in kb[s:]),  # type: ignore[misc]
                timeout=10,
                what=f"results for {query!r}",
            )
            shown = log_kb[start:]
            for i, at in enumerate(pressed):
                prefix = query[: i + 1]
                later = [(t, v) for t, v in shown if t >= at and len(v) > i and query.startswith(v)]
                if not later:
                    continue  # the prefix is blank: a space typed first shows suggestions
                if len(prefix.strip()) < MIN_QUERY:
                    result.before_search.append(later[0][0] - at)
                    continue
                result.per_key.append(later[0][0] - at)
                short = len(prefix.strip()) < 3
                (result.first_letters if short else result.from_third).append(later[0][0] - at)
                result.exact += later[0][1] == prefix
                result.keys += 1
            last = [t for t, v in shown if v == query and t >= pressed[-1]]
            result.final.append(last[0] - pressed[-1])
            if result.queries == 0:
                result.first_key = result.per_key[0] if result.per_key else result.final[0]
            result.queries += 1
        result.ui_cpu = time.thread_time() - ui_cpu
        result.typing_wall = time.perf_counter() - wall
    return result


@dataclass
class IndexOnly:
    per_prefix: list[float] = field(default_factory=list)
    per_prefix_cpu: list[float] = field(default_factory=list)
    full: list[float] = field(default_factory=list)
    full_cpu: list[float] = field(default_factory=list)


def index_only(index_dir: Path, queries: list[str]) -> IndexOnly:
    """The console's search call alone (no UI, no debounce) on the prefixes the console
    searches (from MIN_QUERY letters on): wall and CPU seconds per prefix and per full
    query, for telling the index's share from the console's."""

    synonyms = Synonyms.load(ConsoleSettings(console_dir=index_dir).synonyms_path)
    index = KbIndex(index_dir, synonyms=synonyms, source=list)
    out = IndexOnly()
    try:
        for query in queries:
            for i in range(1, len(query) + 1):
                if len(query[:i].strip()) < MIN_QUERY:
                    continue
                started, cpu = time.perf_counter(), time.thread_time()
                index.search(query[:i], limit=SEARCH_LIMIT, as_you_type=True)  # as KbPane
                out.per_prefix.append(time.perf_counter() - started)
                out.per_prefix_cpu.append(time.thread_time() - cpu)
            out.full.append(out.per_prefix[-1])
            out.full_cpu.append(out.per_prefix_cpu[-1])
    finally:
        index.close()
    return out


def history_latency(be: Backend) -> float:
    """GET history of the caller (limit 50, as Desk.take) on loopback, median of 5."""
    with EkcClient(be.url) as op:
        op.login(*OPERATOR)
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            op.history(be.citizen.id, limit=50)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@dataclass
class TakeResult:
    delivered: float  # post → the contact in app.offers
    card: float  # F2 → card with history
    total: float  # post → card with history
    history_items: int
    citizen_ok: bool


async def take_bench(be: Backend, size: int, url: str | None, idle: float, tag: str) -> TakeResult:
    """Post a call as the gateway, wait for the offer, F2, wait for the card with history."""
    app = BenchConsole(be.settings(url), login=OPERATOR, background=True)
    async with running(app) as pilot:
        await settled(app, size)
        await asyncio.sleep(idle)
        offers_log, cards_log = app.bench_log("offers"), app.bench_log("card")
        posted_at = time.perf_counter()
        contact = await asyncio.to_thread(be.post_call, tag)

        def delivered() -> float:
            return next((t for t, ids, _ in offers_log if t >= posted_at and contact.id in ids), 0)

        delivered_at = await until(delivered, what="the offer")
        await until(lambda: app.offers and app.offers[0].id == contact.id, what="F2 takes it")
        cards = len(cards_log)
        pressed = time.perf_counter()
        await pilot.press("f2")
        ready = await until(lambda: cards_log[cards] if len(cards_log) > cards else 0, what="card")
        card = app.card
        assert card is not None and card.contact is not None
        return TakeResult(
            delivered=delivered_at - posted_at,
            card=ready - pressed,
            total=ready - posted_at,
            history_items=len(app.history.page.items) if app.history else 0,
            citizen_ok=card.contact.id == contact.id and card.citizen_id == be.citizen.id,
        )


@dataclass
class KeysResult:
    keys: list[str]
    saved_ok: bool
    status: str
    notes: list[str]
    server_done_after: float


async def consultation_bench(be: Backend, size: int) -> KeysResult:
    """F2, (citizen by number), Ctrl+T Enter, F3 Enter, Esc, F5 1, F9; check the server."""
    app = BenchConsole(be.settings(), login=OPERATOR, background=True)
    keys: list[str] = []
    notes: list[str] = []

    async def press(key: str) -> None:
        keys.append(key)
        await pilot.press(key)
        await pilot.pause(0.05)

    async with running(app) as pilot:
        await settled(app, size)
        contact = await asyncio.to_thread(be.post_call, "keys")
        await until(lambda: any(c.id == contact.id for c in app.offers), what="the offer")
        await press("f2")
        await until(lambda: app.card is not None and app.history is not None, what="the card")
        card = app.card
        assert card is not None
        notes.append(
            "citizen identified by number: 0 keys"
            if card.citizen_id == be.citizen.id
            else f"citizen NOT identified (citizen_id={card.citizen_id})"
        )
        notes.append(f"topic on the card before Ctrl+T: {card.topic_code} (from the handoff)")
        await press("ctrl+t")
        await until(lambda: isinstance(app.screen, PickerScreen), what="the topic picker")
        await press("enter")
        await until(lambda: not isinstance(app.screen, PickerScreen), what="picker closed")
        focused = app.focused.id if app.focused else None
        notes.append(f"focus before F3: #{focused}")
        await until(lambda: app.kb_hits, what="KB suggestions")
        await press("f3")
        await press("enter")
        await until(lambda: isinstance(app.screen, ArticleScreen), what="the article")
        await press("escape")
        await until(lambda: not isinstance(app.screen, ArticleScreen), what="article closed")
        await press("f5")
        await press("1")
        await until(lambda: card.outcome == ContactOutcome.consultation, what="the outcome")
        await press("f9")
        saved = time.perf_counter()
        await until(lambda: app.card is None, what="the card saved")

        def on_server() -> ContactPublic | None:
            c = be.admin.contact(contact.id)
            return c if c.status == ContactStatus.done else None

        done: ContactPublic | None = None
        for _ in range(100):
            done = await asyncio.to_thread(on_server)
            if done is not None:
                break
            await asyncio.sleep(0.1)
        after = time.perf_counter() - saved
    final = done or be.admin.contact(contact.id)
    ok = (
        final.status == ContactStatus.done
        and final.outcome == ContactOutcome.consultation
        and final.topic_code == TOPIC
    )
    status = f"{final.status.value}/{final.outcome.value if final.outcome else '-'}/"
    status += str(final.topic_code)
    return KeysResult(keys, ok, status, notes, after)


# --- a link with latency --------------------------------------------------------------------


class LatencyProxy:
    """TCP proxy adding RTT/2 to every chunk in each direction (order kept, no bandwidth
    limit); a new connection's first bytes also wait one RTT, as a TCP handshake would."""

    def __init__(self, target: str, rtt: float) -> None:
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self.host, self.port, self.rtt = host, int(port), rtt
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="latency-proxy")
        self.listen_port = 0

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen_port}"

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.listen_port = server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        accepted = self._loop.time()
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, accepted + self.rtt),
                self._pipe(up_reader, writer, 0.0),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            for w in (writer, up_writer):
                w.close()

    async def _pipe(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, not_before: float
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        half = self.rtt / 2

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - self._loop.time()))
                if not data:
                    with contextlib.suppress(OSError):
                        dst.write_eof()
                    return
                dst.write(data)
                await dst.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                try:
                    data = await src.read(65536)
                except OSError:
                    data = b""
                queue.put_nowait((max(self._loop.time(), not_before) + half, data))
                if not data:
                    break
            await sender
        finally:
            sender.cancel()


# --- the report -----------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    value: str
    target: str = ""
    note: str = ""


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def git_state() -> str:
    """The commit measured, and whether the console's files differ from it."""

    def git(*argv: str) -> str:
        run = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return run.stdout.rstrip()

    dirty = git("status", "--porcelain", "--", "ekc_tui", "ekc_core", "ekc_server", "kb_index")
    changed = ", ".join(line[3:] for line in dirty.splitlines())
    return git("rev-parse", "--short", "HEAD") + (f" + uncommitted {changed}" if dirty else "")


def print_table(rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    vwidth = max(len(r.value) for r in rows)
    twidth = max(len(r.target) for r in rows)
    for r in rows:
        line = f"{r.name:<{width}}  {r.value:>{vwidth}}  {r.target:<{twidth}}"
        print((line + ("  " + r.note if r.note else "")).rstrip())


def measure(be: Backend, args: argparse.Namespace, index_cache: Path | None) -> list[Row]:
    size, rtt = args.kb_size, args.rtt_ms / 1000
    rows: list[Row] = []
    print(
        f"backend: demo database, SQLite, uvicorn 1 worker; caller: citizen "
        f"{be.citizen.id} with {be.citizen.contacts} contacts"
    )
    print()

    if args.only in ("all", "start"):
        rows += start_rows(be, args.runs)
    if args.only == "start" or index_cache is None:
        return rows

    queries = pick_queries(args.queries)
    batch = [MEMORY_QUERY, *queries[: args.memory_queries - 1]]
    log(f"2. memory after start + a batch of {len(batch)} KB searches (pty)")
    mem = memory_after_search(be, size, batch)

    def mb(status: dict[str, int], name: str) -> str:
        return f"{status.get(name, 0) / 2**20:.0f} MB"

    rows.append(
        Row(
            "2. RSS with the index open, after a batch",
            mb(mem.batch_status, "VmRSS"),
            "≤ 150 MB",
            f"`ekc` after {mem.queries} queries typed: anon {mb(mem.batch_status, 'RssAnon')}"
            f" + file-backed {mb(mem.batch_status, 'RssFile')} (mapped index);"
            f" after the first ({MEMORY_QUERY!r}) {mb(mem.status, 'VmRSS')};"
            f" peak (ru_maxrss) {mem.maxrss / 2**20:.0f} MB;"
            f" KB open {mem.articles_on_screen:.1f} s after start; CPU {mem.cpu:.1f} s",
        )
    )

    log(f"3. typing {len(queries)} queries at {args.cps:g} chars/s")
    typing = asyncio.run(typing_bench(be, size, queries, args.cps))
    rows.append(
        Row(
            "3. keystroke → results, p95",
            ms(pctl(typing.per_key, 0.95)),
            "≤ 150 ms",
            f"p50 {ms(statistics.median(typing.per_key))}, max "
            f"{ms(max(typing.per_key))}; {typing.keys} keys, {typing.queries} queries; "
            f"{typing.exact} of {typing.keys} showed their exact prefix",
        )
    )
    if typing.first_letters and typing.from_third:
        later_keys = typing.from_third
        rows.append(
            Row(
                "   keys of a query's first two letters",
                ms(pctl(typing.first_letters, 0.95)),
                "",
                f"{len(typing.first_letters)} keys, p50"
                f" {ms(statistics.median(typing.first_letters))}; the keys from the 3rd"
                f" letter: p95 {ms(pctl(later_keys, 0.95))}, p50"
                f" {ms(statistics.median(later_keys))} ({len(later_keys)} keys)",
            )
        )
    if typing.before_search:  # a console that searches from a later letter than the first
        every_key = typing.per_key + typing.before_search
        rows.append(
            Row(
                f"   the first {MIN_QUERY - 1} keys of a query (no search yet)",
                ms(pctl(typing.before_search, 0.95)),
                "",
                f"{len(typing.before_search)} keys wait for letter {MIN_QUERY}, the first that"
                f" searches; every key counted: p95 {ms(pctl(every_key, 0.95))},"
                f" p50 {ms(statistics.median(every_key))}",
            )
        )
    rows.append(
        Row(
            "   searches the console ran while typing",
            str(len(typing.searches)),
            "",
            f"for {typing.keys} keys; each call p50 {ms(statistics.median(typing.searches))},"
            f" p95 {ms(pctl(typing.searches, 0.95))}, max {ms(max(typing.searches))}"
            " (waiting for KbIndex's lock included); CPU p50"
            f" {ms(statistics.median(typing.search_cpu))}, p95"
            f" {ms(pctl(typing.search_cpu, 0.95))}",
        )
    )
    rows.append(
        Row(
            "   UI thread CPU while typing, per key",
            ms(typing.ui_cpu / max(1, typing.keys)),
            "",
            f"{typing.ui_cpu:.2f} s CPU of the event loop over {typing.typing_wall:.1f} s of"
            f" typing (keys, results on screen, this bench's own waits);"
            f" searches {sum(typing.search_cpu):.2f} s CPU in the worker",
        )
    )
    rows.append(
        Row(
            "   last key of a query → its results, p95",
            ms(pctl(typing.final, 0.95)),
            "≤ 150 ms",
            f"p50 {ms(statistics.median(typing.final))}, max {ms(max(typing.final))};"
            f" first key of the session {ms(typing.first_key)}",
        )
    )

    alone = index_only(index_cache, queries)
    rows.append(
        Row(
            "   the index alone (no UI), per prefix",
            ms(pctl(alone.per_prefix, 0.95)),
            "",
            f"p95 wall; p50 {ms(statistics.median(alone.per_prefix))}, max"
            f" {ms(max(alone.per_prefix))}; CPU p50 {ms(statistics.median(alone.per_prefix_cpu))},"
            f" p95 {ms(pctl(alone.per_prefix_cpu, 0.95))}; full queries p95"
            f" {ms(pctl(alone.full, 0.95))} wall, {ms(pctl(alone.full_cpu, 0.95))} CPU"
            " (KbIndex.search as the console calls it)",
        )
    )
    if args.only == "kb":
        return rows

    log("4. contact posted → card with history (loopback)")
    history_alone = history_latency(be)
    direct = asyncio.run(take_bench(be, size, None, 1.0, "direct"))
    with LatencyProxy(be.url, rtt) as proxy:
        log(f"4. contact posted → card with history ({ms(rtt)} RTT, warm)")
        warm = asyncio.run(take_bench(be, size, proxy.url, 1.0, "warm"))
        log(f"4. the same after {KEEPALIVE_IDLE:g} s idle (server closed keep-alives)")
        idle = asyncio.run(take_bench(be, size, proxy.url, KEEPALIVE_IDLE, "idle"))
        connections = proxy.connections
    for label, r, link in (
        ("loopback", direct, None),
        (f"{ms(rtt)} RTT", warm, rtt),
        (f"{ms(rtt)} RTT, idle", idle, rtt),
    ):
        ratio = f" = {r.card / link:.1f} RTT" if link else ""
        rows.append(
            Row(
                f"4. post → card, {label}",
                f"{r.total:.2f} s",
                "F2 → card ≈ 1 RTT" if link else "",
                f"post → offer {r.delivered:.2f} s, F2 → card {r.card:.2f} s{ratio};"
                f" history {r.history_items} items"
                + ("" if r.citizen_ok else "; WRONG contact or citizen"),
            )
        )
    rows[-1].note += f" (proxy saw {connections} connections in both runs)"
    rows.append(
        Row(
            "   history request alone, loopback",
            ms(history_alone),
            "",
            "GET /citizens/{id}/history?limit=50 with a warm client, median of 5",
        )
    )

    log("5. keys of a standard consultation")
    keys = asyncio.run(consultation_bench(be, size))
    rows.append(
        Row(
            "5. keys of a consultation",
            str(len(keys.keys)),
            "≤ 12",
            " ".join(keys.keys)
            + f"; on the server {keys.status}: {'ok' if keys.saved_ok else 'NOT ok'}"
            + f" ({keys.server_done_after:.2f} s after F9); "
            + "; ".join(keys.notes),
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb-size", type=int, default=50000, help="articles in the local KB")
    parser.add_argument("--rtt-ms", type=float, default=600.0, help="round trip of the slow link")
    parser.add_argument("--runs", type=int, default=5, help="console starts to take the median of")
    parser.add_argument("--queries", type=int, default=32, help="labelled queries to type")
    parser.add_argument("--cps", type=float, default=8.0, help="typing speed, characters/s")
    parser.add_argument(
        "--only",
        choices=("all", "start", "kb"),
        default="all",
        help="start: only start to the first frame and quit (no big KB index to build);"
        " kb: only memory and keystroke → results (2 and 3)",
    )
    parser.add_argument(
        "--memory-queries", type=int, default=8, help="queries typed before RSS is read"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ekc-console-bench",
        help="where the KB index is built once per size",
    )
    args = parser.parse_args()
    size, rtt = args.kb_size, args.rtt_ms / 1000

    print(
        f"machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()},"
        f" Textual {textual.__version__}; load average at start "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(
        f"KB corpus: {size} articles (bench/kb_corpus.py); link: loopback and {ms(rtt)} RTT "
        f"(proxy); search debounce {ms(ConsoleSettings(console_dir=Path()).search_debounce)};"
        f" typing {args.cps:g} chars/s"
    )
    print(f"code: {git_state()}")
    index_cache = cached_index(size, args.cache_dir) if args.only != "start" else None
    with (
        tempfile.TemporaryDirectory(prefix="ekc-console-bench-") as tmp,
        backend(Path(tmp), index_cache) as be,
    ):
        rows = measure(be, args, index_cache)
    print()
    print_table(rows)
    for error in EXIT_ERRORS:
        print(f"note: the console raised on exit (after its numbers were taken): {error}")


if __name__ == "__main__":
    main()
