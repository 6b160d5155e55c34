"""End-to-end benchmark: the real bot, polling the local Bot API double, under load.

    .venv/bin/python benchmarks/e2e.py               # 1,000 users, ~2.5 minutes, exits 0
    .venv/bin/python benchmarks/e2e.py --quick       # 100 users, ~20 s
    .venv/bin/python benchmarks/e2e.py --users 300   # any number of users
    .venv/bin/python benchmarks/e2e.py --check       # exit 1 if a target is MISS
    .venv/bin/python benchmarks/e2e.py --profile     # also cProfile the bot during run 1
    .venv/bin/python benchmarks/e2e.py --only run1   # one phase: baseline, run1, run1-httpx, run2

Three processes per phase, so that neither side starves the other on the 2-core machine:

- this one (the orchestrator: starts and stops the other two, reads /proc, prints the report);
- the **double** (`tests/botapi_double.BotApiDouble` on 127.0.0.1 in a `multiprocessing`
  "spawn" child), which is also the load generator: it pushes the users' questions and
  timestamps each push and each delivered reply on its own clock, so no HTTP hop sits
  between a push or a reply and its timestamp;
- the **bot**, a subprocess running `bot.cli.main(["run"])`, i.e. exactly `faqbot run`
  (configure_logging, the bundled FAQ, `Storage` on a fresh SQLite file, `build_application`,
  `run_polling`), configured by environment variables like in production.

Phases, each with a fresh double, a fresh bot process and a fresh database:

- **baseline**: a trivial echo Application built the same way as `build_application` builds
  the bot (same ApplicationBuilder chain, same Defaults, same logging), without rate limiter,
  one MessageHandler that sends the question back; double limits off. It measures the
  plumbing: PTB + HTTP over loopback + the double, without the bot's own work.
- **run 1**: the real bot with its rate limiter OFF (`build_application(..., limit_rate=False)`),
  double limits off: the bot's own ceiling; the bot reports which limiter it ended up with.
- **run 1, httpx**: run 1 again with python-telegram-bot's default HTTP client (`HTTPXRequest`)
  in place of the bot's (`bot.telegram.transport.AiohttpRequest`): what that choice is worth.
- **run 2**: the real bot exactly as `faqbot run` builds it (its AIORateLimiter on), against a
  double that enforces Telegram's limits (`enforce_limits()`: 30 messages/s overall, 1/s per private
  chat, 20/min per group) and answers 429 beyond them.

Users: N distinct private chats, language_code fr/de/en in turn, each asking 3 questions taken
from tests/data/eval.yaml (2 in-scope and 1 out-of-scope, in a random order, each in a random
language: seeded). A user asks their next question as soon as the previous one is answered
(closed loop, no think time); all users ask their first question at once. Before the load of
the baseline and of run 1, 100 one-off users ask one question each, one at a time, for the
latency of an idle bot.

See benchmarks/README.md ("End-to-end") for what each figure means.
"""

# ruff: noqa: E402  (imports follow the sys.path set-up below)

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import platform
import pstats
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Measure this checkout's `bot`, whatever the environment has installed.
sys.path.insert(0, str(ROOT))

EVAL_FILE = ROOT / "tests" / "data" / "eval.yaml"
TOKEN = "4242:E2E-benchmark-token-never-real"
STAFF_CHAT = -1001234567890  # production runs with a staff chat; nobody escalates here
SEED = 20_240_501
QUESTIONS_PER_USER = 3
LANGUAGE_CODES = ("fr", "de", "en")
FIRST_USER_ID = 10_000_001
FIRST_PROBE_ID = 20_000_001
PROBES = 100

# Targets.
TARGET_CEILING = 300.0  # updates handled per second, run 1
TARGET_RSS_MB = 150.0  # resident set size of the bot after the run
TARGET_429 = 0  # 429 answers received, run 2
TELEGRAM_MESSAGES_PER_S = 30  # Telegram's overall limit: the floor of run 2's total time
TARGET_OVER_FLOOR = 1.15  # run 2 within 15 % of that floor

# Time bounds (seconds). A phase that is not over by then is stopped and reported as is.
READY_TIMEOUT = 30.0
PROBE_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def phase_timeout(total_updates: int, limited: bool) -> float:
    """Generous: run 2 cannot beat 30 replies/s and is given 20/s; the others 50/s."""
    if limited:
        return 20.0 + total_updates / 20.0
    return 20.0 + total_updates / 50.0


# --------------------------------------------------------------------------------------------
# the users
# --------------------------------------------------------------------------------------------


def make_users(n: int, seed: int = SEED) -> list[tuple[int, str, list[str]]]:
    """(chat id, language_code, 3 questions) per user: 2 in-scope, 1 out-of-scope, shuffled,
    each question in a language drawn at random (so mostly not the user's language_code)."""
    from bot.answering.evaluation import load_questions

    items = load_questions(EVAL_FILE)
    by_kind: dict[tuple[bool, str], list[str]] = {}
    for item in items:
        by_kind.setdefault((item.expect is not None, item.language), []).append(item.question)
    rng = random.Random(seed)
    users = []
    for i in range(n):
        questions = [
            rng.choice(by_kind[(in_scope, rng.choice(LANGUAGE_CODES))])
            for in_scope in (True, True, False)
        ]
        rng.shuffle(questions)
        users.append((FIRST_USER_ID + i, LANGUAGE_CODES[i % 3], questions))
    return users


def make_probes(seed: int = SEED + 1) -> list[tuple[int, str, list[str]]]:
    from bot.answering.evaluation import load_questions

    items = load_questions(EVAL_FILE)
    rng = random.Random(seed)
    return [
        (FIRST_PROBE_ID + i, LANGUAGE_CODES[i % 3], [rng.choice(items).question])
        for i in range(PROBES)
    ]


# --------------------------------------------------------------------------------------------
# the double's process: Bot API double + load generator
# --------------------------------------------------------------------------------------------


@dataclass
class UserState:
    chat_id: int
    language_code: str
    questions: list[str]
    asked: int = 0
    pushed_at: float | None = None
    latencies: list[float] = field(default_factory=list)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _double_main(conn: Any, config: dict[str, Any]) -> None:
    """Entry point of the double's process (multiprocessing, spawn)."""
    asyncio.run(_double_async(conn, config))


async def _double_async(conn: Any, config: dict[str, Any]) -> None:
    from tests.botapi_double import BotApiDouble

    loop = asyncio.get_running_loop()

    class LoadDouble(BotApiDouble):
        """The double, telling the driver about every delivered sendMessage."""

        on_sent: Any = None

        async def _process(self, call, handler):  # type: ignore[no-untyped-def]
            result = await super()._process(call, handler)  # raises on 429 & co
            if call.method == "sendMessage" and self.on_sent is not None:
                self.on_sent(call)
            return result

    double = LoadDouble()
    await double.start()
    if config["limits"]:
        double.enforce_limits()  # Telegram's: 30/s overall, 1/s per chat, 20/min per group
    conn.send({"port": double.port})

    users: dict[int, UserState] = {}
    extra = 0
    finished = asyncio.Event()
    remaining = 0
    last_reply = 0.0

    def push(user: UserState) -> None:
        user.pushed_at = time.monotonic()
        double.push_text(user.chat_id, user.questions[user.asked], language_code=user.language_code)
        user.asked += 1

    def on_sent(call: Any) -> None:
        nonlocal extra, remaining, last_reply
        now = time.monotonic()
        try:
            user = users.get(int(call.params.get("chat_id")))
        except (TypeError, ValueError):
            user = None
        if user is None or user.pushed_at is None:
            extra += 1  # a second message for one question, or a message to another chat
            return
        user.latencies.append(now - user.pushed_at)
        user.pushed_at = None
        last_reply = now
        if user.asked < len(user.questions):
            push(user)
        else:
            remaining -= 1
            if remaining == 0:
                finished.set()

    double.on_sent = on_sent

    def start(batch: list[tuple[int, str, list[str]]]) -> None:
        nonlocal remaining
        finished.clear()
        users.clear()
        for chat_id, code, questions in batch:
            users[chat_id] = UserState(chat_id, code, list(questions))
        remaining = len(users)
        for user in list(users.values()):
            push(user)

    result: dict[str, Any] = {"ok": True}
    try:
        # The bot is ready once it polls (post_init, i.e. the command menus, is done by then).
        bot_pid = conn.recv()["bot_pid"]
        deadline = loop.time() + READY_TIMEOUT
        while not any(c.method == "getUpdates" for c in double.calls):
            if loop.time() > deadline:
                raise TimeoutError(f"the bot did not poll within {READY_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)

        # Idle latency: one question at a time, each from a new user.
        probe_latencies: list[float] = []
        for probe in config["probes"]:
            start([probe])
            await asyncio.wait_for(finished.wait(), PROBE_TIMEOUT)
            probe_latencies.extend(users[probe[0]].latencies)
        result["probe_latencies"] = probe_latencies
        before_load = len(double.calls)
        extra = 0
        rejected_before = double.rejected_429

        # The load.
        cpu_bot0, cpu_self0 = _cpu_seconds(bot_pid), time.process_time()
        t0 = time.monotonic()
        last_reply = t0
        start(config["users"])
        push_done = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), config["timeout"])
        t_end = time.monotonic()
        cpu_bot1, cpu_self1 = _cpu_seconds(bot_pid), time.process_time()

        latencies = [x for u in users.values() for x in u.latencies]
        load_calls = double.calls[before_load:]
        sends = [c for c in load_calls if c.method == "sendMessage" and c.done]
        # Which limit each 429 enforced: the chat's own (a message delivered to the same chat
        # less than 1 s before) or the global one; and when, from the first push.
        last_ok: dict[Any, float] = {}
        per_chat = 0
        rejected_at = []
        for c in sends:
            if c.fault == "limit":
                rejected_at.append(c.time - t0)
                per_chat += c.time - last_ok.get(c.chat_id, -math.inf) < 1.0
            elif c.ok:
                last_ok[c.chat_id] = c.time
        polls = [c for c in load_calls if c.method == "getUpdates" and c.ok and c.result]
        result.update(
            {
                "questions": sum(len(u.questions) for u in users.values()),
                "answered": len(latencies),
                "latencies": latencies,
                "elapsed": (last_reply - t0) if latencies else t_end - t0,
                "timed_out": not finished.is_set(),
                "push_burst": push_done - t0,
                "rejected_429": double.rejected_429 - rejected_before,
                "rejected_per_chat": per_chat,
                "rejected_at": rejected_at,
                "send_failures": sum(1 for c in sends if not c.ok),
                "send_calls": len(sends),
                "extra_messages": extra,
                "polls": len(polls),
                "mean_batch": (sum(len(c.result) for c in polls) / len(polls)) if polls else 0,
                "bot_cpu": cpu_bot1 - cpu_bot0,
                "double_cpu": cpu_self1 - cpu_self0,
                "wall": t_end - t0,
                "other_calls": sorted(
                    {c.method for c in load_calls} - {"sendMessage", "getUpdates"}
                ),
            }
        )
    except Exception as exc:  # reported by the orchestrator
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    conn.send(result)
    # Keep serving until the bot is stopped (its last long poll ends cleanly).
    with contextlib.suppress(EOFError, OSError):
        await loop.run_in_executor(None, conn.recv)
    await double.stop()


# --------------------------------------------------------------------------------------------
# the bot's process
# --------------------------------------------------------------------------------------------


def _child_main(mode: str) -> int:
    """`e2e.py --child MODE`: the bot process. MODE: bot (faqbot run as is), bot-nolimiter
    (faqbot run with the Application built without its rate limiter), bot-nolimiter-httpx (the
    same with PTB's HTTPXRequest instead of bot.transport.AiohttpRequest), echo (baseline)."""
    import bot.telegram.app as app_module
    from bot import cli

    profile_path = os.environ.get("E2E_PROFILE")
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()

    if mode == "echo":
        status = _run_echo()
    else:
        original = app_module.build_application
        if mode == "bot-nolimiter-httpx":
            from telegram.request import HTTPXRequest

            def httpx_request(connection_pool_size: int = 1) -> HTTPXRequest:
                return HTTPXRequest(connection_pool_size=connection_pool_size)

            app_module.AiohttpRequest = httpx_request  # type: ignore[assignment,misc]
        if mode.startswith("bot-nolimiter"):

            def build(*args: Any, **kwargs: Any) -> Any:
                return original(*args, limit_rate=False, **kwargs)

            how = "build_application(..., limit_rate=False)"
        else:
            build, how = original, "unchanged"

        def observed(*args: Any, **kwargs: Any) -> Any:
            application = build(*args, **kwargs)
            limiter = application.bot.rate_limiter
            described = how
            client = type(application.bot.request).__name__
            print(
                "E2E-CHILD "
                + json.dumps(
                    {
                        "rate_limiter": type(limiter).__name__ if limiter else None,
                        "how": described,
                        "http": client,
                    }
                ),
                file=sys.stderr,
                flush=True,
            )
            return application

        app_module.build_application = observed  # bot.app.run looks it up at call time
        if profiler:
            profiler.enable()
        status = cli.main(["run"])
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_path)
    return status


def _run_echo() -> int:
    """The baseline bot: built like build_application builds the real one (same HTTP client),
    minus the rate limiter, post_init, jobs and every handler but one that sends the text back."""
    from html import escape

    from telegram import Update
    from telegram.constants import ParseMode
    from telegram.ext import ApplicationBuilder, Defaults, MessageHandler, filters

    from bot.config import Settings
    from bot.logs import configure_logging
    from bot.telegram.app import CONNECTION_POOL_SIZE
    from bot.telegram.transport import AiohttpRequest

    settings = Settings.from_env()
    configure_logging(False, secrets=[settings.token])
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{settings.api_url}/bot")
        .base_file_url(f"{settings.api_url}/file/bot")
        .request(AiohttpRequest(connection_pool_size=CONNECTION_POOL_SIZE))
        .get_updates_request(AiohttpRequest())
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .build()
    )

    async def echo(update: Update, context: Any) -> None:
        await context.bot.send_message(update.effective_chat.id, escape(update.message.text))

    application.add_handler(MessageHandler(filters.TEXT, echo))
    child = {"rate_limiter": None, "how": "echo", "http": type(application.bot.request).__name__}
    print("E2E-CHILD " + json.dumps(child), file=sys.stderr)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


# --------------------------------------------------------------------------------------------
# the orchestrator
# --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    key: str
    title: str
    child_mode: str
    limits: bool
    probes: bool


PHASES = [
    Phase("baseline", "baseline: echo Application, no limiter, no limits", "echo", False, True),
    Phase("run1", "run 1: bot, rate limiter OFF, double limits OFF", "bot-nolimiter", False, True),
    Phase(
        "run1-httpx",
        "run 1, httpx: the same with PTB's default HTTPXRequest",
        "bot-nolimiter-httpx",
        False,
        True,
    ),
    Phase("run2", "run 2: bot (faqbot run), rate limiter ON, Telegram limits", "bot", True, False),
]


def _proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MB (1 MB = 2**20 bytes)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def _bot_env(api_url: str, db: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "FAQBOT_", "STAFF_"))
    }
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "FAQBOT_DB": str(db),
            "STAFF_CHAT_ID": str(STAFF_CHAT),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run_phase(
    phase: Phase, users: list, probes: list, workdir: Path, profile: Path | None = None
) -> dict[str, Any]:
    total = sum(len(q) for _, _, q in users)
    timeout = phase_timeout(total, phase.limits)
    config = {
        "limits": phase.limits,
        "users": users,
        "probes": probes if phase.probes else [],
        "timeout": timeout,
    }
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    double = ctx.Process(target=_double_main, args=(child, config), daemon=True)
    double.start()
    if not parent.poll(30):
        double.kill()
        raise RuntimeError("the double did not start")
    port = parent.recv()["port"]

    db = workdir / f"{phase.key}.sqlite3"
    log_path = workdir / f"{phase.key}.log"
    env = _bot_env(f"http://127.0.0.1:{port}", db)
    if profile is not None:
        env["E2E_PROFILE"] = str(profile)
    with open(log_path, "wb") as log:
        bot = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", phase.child_mode],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    result: dict[str, Any]
    try:
        parent.send({"bot_pid": bot.pid})
        budget = READY_TIMEOUT + PROBE_TIMEOUT * 2 + timeout + 30
        deadline = time.monotonic() + budget
        while not parent.poll(0.5):
            if bot.poll() is not None or time.monotonic() > deadline or not double.is_alive():
                break
        if parent.poll(0):
            result = parent.recv()
        elif bot.poll() is not None:
            result = {"ok": False, "error": f"the bot exited with {bot.returncode}"}
        elif not double.is_alive():
            result = {"ok": False, "error": "the double's process died"}
        else:
            result = {"ok": False, "error": f"no result within {budget:.0f} s"}
        if bot.poll() is None:
            result["memory"] = _proc_status(bot.pid)
        else:
            result["ok"] = False
            result.setdefault("error", f"the bot exited with {bot.returncode}")
    finally:
        if bot.poll() is None:
            bot.send_signal(signal.SIGINT)
            try:
                bot.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
        with contextlib.suppress(OSError):
            parent.send("stop")
        double.join(STOP_TIMEOUT)
        if double.is_alive():
            double.kill()
    text = log_path.read_text(errors="replace")
    for line in text.splitlines():
        if line.startswith("E2E-CHILD "):
            result["child"] = json.loads(line[len("E2E-CHILD ") :])
    result["limiter_retries"] = text.lower().count("rate limit hit")
    result["log_errors"] = sum(
        1
        for line in text.splitlines()
        if '"level": "ERROR"' in line or " ERROR " in line or line.startswith("Traceback")
    )
    if not result.get("ok"):
        result["log_tail"] = "\n".join(text.splitlines()[-30:])
    return result


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine_info() -> list[str]:
    load = os.getloadavg()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{platform.machine()}, Linux {platform.release()}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"git: {_git_describe()}",
    ]


def _git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def library_versions() -> str:
    import aiohttp
    import httpx
    import telegram

    return (
        f"python-telegram-bot {telegram.__version__}, httpx {httpx.__version__}, "
        f"aiohttp {aiohttp.__version__} (the bot's HTTP client and the double)"
    )


def report(results: dict[str, dict[str, Any]], n_users: int) -> tuple[list[str], bool]:
    """The table (Markdown) and whether every target is met."""
    rows: list[tuple[str, str, str, str]] = []  # figure, value, target, result
    all_ok = True

    def row(figure: str, value: str, target: str = "none", ok: bool | None = None) -> None:
        nonlocal all_ok
        if ok is not None:
            all_ok &= ok
        rows.append((figure, value, target, "info" if ok is None else verdict(ok)))

    names = {
        "baseline": "baseline (echo)",
        "run1": "run 1 (limiter off)",
        "run1-httpx": "run 1, httpx (limiter off, PTB's HTTPXRequest)",
        "run2": "run 2 (limiter on, limits)",
    }
    for key in ("baseline", "run1", "run1-httpx", "run2"):
        r = results.get(key)
        name = names[key]
        if r is None:
            continue
        if not r.get("ok") or "latencies" not in r:
            row(f"{name}: failed", r.get("error", "?"), "runs", False)
            continue
        limiter = r.get("child", {}).get("rate_limiter")
        if (limiter is None) != (key != "run2"):
            row(
                f"{name}: rate limiter in the bot",
                str(limiter),
                "None" if key != "run2" else "a rate limiter",
                False,
            )
        lat = r["latencies"]
        rate = r["answered"] / r["elapsed"] if r["elapsed"] > 0 else 0.0
        answered = f"{r['answered']:,} / {r['questions']:,}" + (
            " (timed out)" if r["timed_out"] else ""
        )
        all_answered = r["answered"] == r["questions"] and not r["timed_out"]
        if key == "run1":
            row(
                f"{name}: updates handled / s",
                f"{rate:,.0f}",
                f">= {TARGET_CEILING:.0f}",
                rate >= TARGET_CEILING,
            )
        else:
            row(f"{name}: updates handled / s", f"{rate:,.1f}")
        row(
            f"{name}: push -> reply p50 / p99",
            f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))}",
        )
        if r.get("probe_latencies"):
            p = r["probe_latencies"]
            row(
                f"{name}: idle bot, one question at a time, p50 / p99 ({len(p)})",
                f"{ms(percentile(p, 50))} / {ms(percentile(p, 99))}",
            )
        if key == "baseline":
            row(f"{name}: messages answered", answered, "all", all_answered)
        else:
            row(f"{name}: questions answered", answered, "all", all_answered)
        if key == "run2":
            row(
                f"{name}: 429 received",
                f"{r['rejected_429']:,}",
                f"{TARGET_429}",
                r["rejected_429"] <= TARGET_429,
            )
            # Telegram's own limit, 30 messages a second overall, sets the floor: the answers
            # cannot all be out sooner than that; within 15 % of it is the target.
            floor = r["questions"] / TELEGRAM_MESSAGES_PER_S
            row(
                f"{name}: time until every answer is out (floor at 30 messages/s: {floor:.0f} s)",
                f"{r['elapsed']:.1f} s",
                f"<= {TARGET_OVER_FLOOR * floor:.0f} s",
                r["elapsed"] <= TARGET_OVER_FLOOR * floor,
            )
            row(f"{name}: limiter retries (bot log)", f"{r['limiter_retries']:,}")
        elif r["rejected_429"]:
            row(f"{name}: 429 received", f"{r['rejected_429']:,}", "0", False)
        if r["send_failures"] or r["extra_messages"]:
            row(
                f"{name}: failed sends / unmatched messages",
                f"{r['send_failures']} / {r['extra_messages']}",
            )
        row(
            f"{name}: CPU, bot / double (% of one core)",
            f"{100 * r['bot_cpu'] / r['wall']:.0f} % / {100 * r['double_cpu'] / r['wall']:.0f} %",
        )
        if r["answered"]:
            row(f"{name}: bot CPU time per update", f"{1000 * r['bot_cpu'] / r['answered']:.2f} ms")
        mem = r.get("memory", {})
        if mem:
            rss = mem.get("VmRSS", math.nan)
            text = f"{rss:.1f} MB (peak {mem.get('VmHWM', math.nan):.1f} MB)"
            if key == "baseline":
                row(f"{name}: RSS after the run", text)
            else:
                row(
                    f"{name}: bot RSS after the run",
                    text,
                    f"<= {TARGET_RSS_MB:.0f} MB",
                    rss <= TARGET_RSS_MB,
                )

    lines = [
        "| figure | value | target | result |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    return lines, all_ok


def details(results: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for key, r in results.items():
        if not r.get("ok"):
            out.append(f"{key}: FAILED: {r.get('error')}")
            if r.get("log_tail"):
                out.append("  bot log (tail):\n    " + r["log_tail"].replace("\n", "\n    "))
            continue
        child = r.get("child", {})
        out.append(
            f"{key}: {r['questions']:,} questions in {r['elapsed']:.2f} s; all first "
            f"questions pushed in {r['push_burst'] * 1000:.0f} ms; {r['polls']:,} getUpdates "
            f"answers with updates (mean batch {r['mean_batch']:.1f}); sendMessage calls "
            f"{r['send_calls']:,}; other methods: {', '.join(r['other_calls']) or 'none'}; "
            f"rate limiter in the bot: {child.get('rate_limiter')} ({child.get('how')}); "
            f"HTTP client: {child.get('http')}; "
            f"ERROR lines in the bot log: {r['log_errors']}"
        )
        if r["rejected_at"]:
            at = r["rejected_at"]
            out.append(
                f"{key}: {len(at)} answers 429: {len(at) - r['rejected_per_chat']} over the global "
                f"limit, {r['rejected_per_chat']} over a chat's 1/s; the first {at[0]:.2f} s and "
                f"the last {at[-1]:.2f} s after the first push"
            )
    return out


def print_profile(path: Path, limit: int = 25) -> None:
    for sort in ("tottime", "cumulative"):
        print(f"\n### cProfile of the bot's main thread during run 1, by {sort}\n")
        stats = pstats.Stats(str(path))
        stats.strip_dirs().sort_stats(sort).print_stats(limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="simulated users (default 1000)")
    parser.add_argument("--quick", action="store_true", help="100 users")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is MISS")
    parser.add_argument("--profile", action="store_true", help="cProfile the bot in run 1")
    parser.add_argument(
        "--only",
        choices=[p.key for p in PHASES],
        action="append",
        help="run only this phase (repeatable)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child_main(args.child)
    n_users = 100 if args.quick else args.users
    if n_users < 1:
        parser.error("--users must be at least 1")

    command = "benchmarks/e2e.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print("# End-to-end benchmark\n")
    print(f"command: .venv/bin/python {command.strip()}")
    for line in machine_info():
        print(line)
    print(library_versions())
    users = make_users(n_users)
    probes = make_probes()
    total = n_users * QUESTIONS_PER_USER
    print(
        f"load: {n_users:,} users x {QUESTIONS_PER_USER} questions = {total:,} updates "
        f"(closed loop: next question when the previous one is answered); "
        f"{PROBES} idle-latency probes before the load of the baseline and run 1"
    )
    results: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faqbot-e2e-") as tmp:
        workdir = Path(tmp)
        print(f"work dir (SQLite files, bot logs): {workdir} (deleted at the end)\n")
        for phase in PHASES:
            if args.only and phase.key not in args.only:
                continue
            t = time.monotonic()
            print(f"{phase.title} ...", end=" ", flush=True)
            profile = workdir / "run1.prof" if (args.profile and phase.key == "run1") else None
            results[phase.key] = run_phase(phase, users, probes, workdir, profile)
            print(f"{time.monotonic() - t:.0f} s", flush=True)
        lines, all_ok = report(results, n_users)
        print()
        print("\n".join(lines))
        print()
        print("\n".join(details(results)))
        load = os.getloadavg()
        print(
            f"\ntotal time: {time.monotonic() - started:.0f} s; load average at the end: "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        if args.profile and (workdir / "run1.prof").exists():
            print_profile(workdir / "run1.prof")
    return 1 if (args.check and not all_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
