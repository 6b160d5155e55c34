"""The container image, built from the Dockerfile and run with podman against the Bot API double.

`scripts/container-test.sh build` builds the production Dockerfile on a Debian bookworm base
bootstrapped from the machine's Debian mirror (these machines reach no image registry). Then
the image runs on the host network, where the double listens on 127.0.0.1:

* polling: the bot runs as the non-root user, passes the image's HEALTHCHECK, answers a
  question, takes a ticket; the container stops on SIGTERM with exit code 0, a new container
  on the same data volume still has the ticket;
* webhook: `/telegram` answers through the double, `/healthz` and `/metrics` answer, the
  HEALTHCHECK probes `/healthz`, and SIGTERM stops it with exit code 0.

Off CI, without podman (or runc, debootstrap) or without root, the tests skip with one line;
with CI=true a missing tool fails them. Every container and volume made here is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.answering.knowledge import load_or_raise
from tests.botapi_double import BotApiDouble, make_user
from tests.test_faults import ticket_number
from tests.test_telegram_restart import TOKEN, arrived
from tests.test_webhook import SECRET, SECRET_HEADER, WEBHOOK_URL, free_port

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type")

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "container-test.sh"
BUILD_TIMEOUT = 1800  # a cold build (debootstrap, apt, pip) takes about 2 minutes here
START_TIMEOUT = 60
QUESTION = "Qu'est-ce que KMØ ?"  # answered with kmo-what
ANNA = 611
STAFF_CHAT = -1009990013
SOPHIE = 913
SOPHIE_USER = make_user(SOPHIE, "Sophie", language_code="fr")
TICKET_QUESTION = "Où garer mon vélo près du Technopole ?"
BOT_UID = 10001


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def image() -> str:
    """The image built by scripts/container-test.sh (skipped off CI when it cannot build)."""
    check = subprocess.run(["bash", SCRIPT, "check"], capture_output=True, text=True)
    if check.returncode != 0:
        reason = check.stderr.strip().splitlines()[-1]
        if on_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    name = f"localhost/faqbot:test-{os.getpid()}"
    started = time.monotonic()
    build = subprocess.run(
        ["bash", SCRIPT, "build"],
        env={**os.environ, "FAQBOT_IMAGE": name},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert build.returncode == 0, f"the image did not build:\n{build.stdout}\n{build.stderr}"
    print(f"\nimage {name} built in {time.monotonic() - started:.0f} s")
    yield name
    # The image's layers stay in podman's cache (the next build reuses them); only the tag goes.
    subprocess.run(["bash", SCRIPT, "podman", "rmi", name], capture_output=True, timeout=120)


async def podman(*args: str, timeout: float = 120, check: bool = True, stderr: bool = False) -> str:
    """`podman ARGS` with the project's containers.conf, without blocking the double's loop;
    its output (with `stderr`, its standard error too, e.g. the container's for `logs`)."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(SCRIPT),
        "podman",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if stderr else asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"podman {' '.join(args)}: no answer in {timeout} s") from None
    if check and process.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {process.returncode}:\n{(err or out).decode()}"
        )
    return out.decode().strip()


class Containers:
    """Containers and volumes of one test, all removed at the end."""

    def __init__(self, image: str):
        self.image = image
        self.prefix = f"faqbot-test-{os.getpid()}-{secrets.token_hex(3)}"
        self.names: list[str] = []
        self.volumes: list[str] = []

    async def volume(self) -> str:
        name = f"{self.prefix}-data"
        await podman("volume", "create", name)
        self.volumes.append(name)
        return name

    async def run(self, env: dict[str, str], *args: str, volume: str | None = None) -> str:
        name = f"{self.prefix}-{len(self.names)}"
        self.names.append(name)
        options = ["--network", "host", "--name", name]
        # No systemd on these machines, so no timer for the HEALTHCHECK: the test runs it
        # itself (`podman healthcheck run`), and podman does not log an error every second.
        options += ["--health-interval", "disable"]
        for key, value in env.items():
            options += ["-e", f"{key}={value}"]
        if volume:
            options += ["-v", f"{volume}:/data"]
        await podman("run", "-d", *options, self.image, *args)
        return name

    async def logs(self, name: str) -> str:
        """What the bot wrote (JSON lines on stderr)."""
        return await podman("logs", name, check=False, stderr=True)

    async def remove(self) -> None:
        for name in self.names:
            # -v: with the anonymous volume of the image's VOLUME /data, when it has one
            await podman("rm", "-f", "-v", "-t", "0", name, check=False)
        for volume in self.volumes:
            await podman("volume", "rm", "-f", volume, check=False)


@contextlib.asynccontextmanager
async def containers(image: str) -> AsyncIterator[Containers]:
    made = Containers(image)
    try:
        yield made
    finally:
        await made.remove()


def bot_env(api: BotApiDouble, **more: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url, **more}


async def polling_started(api: BotApiDouble, made: Containers, name: str) -> None:
    """Wait until the bot in container `name` polls the double for the first time."""
    known = {id(call) for call in api.calls if call.method == "getUpdates"}
    try:
        await arrived(api, lambda c: c.method == "getUpdates" and id(c) not in known, START_TIMEOUT)
    except AssertionError:
        raise AssertionError(f"the bot never polled:\n{await made.logs(name)}") from None


async def bot_uid(name: str) -> int:
    """The real uid of the container's main process (the bot)."""
    status = await podman("exec", name, "cat", "/proc/1/status")
    [uid_line] = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(uid_line.split()[1])


async def healthy(name: str) -> str:
    """Run the image's HEALTHCHECK now; return what it printed (fails unless it passed)."""
    result = await podman("healthcheck", "run", name, check=False)
    assert result in ("", "healthy"), f"HEALTHCHECK failed: {result}"
    health = json.loads(await podman("inspect", "--format", "{{json .State.Health}}", name))
    assert health["Status"] == "healthy", health
    return health["Log"][-1]["Output"]


async def stopped_by_sigterm(made: Containers, name: str) -> None:
    """SIGTERM to the bot; it must exit 0 by itself (no SIGKILL) within 30 s."""
    await podman("kill", "--signal", "TERM", name)
    code = await podman("wait", name, timeout=30)
    assert code == "0", f"exit code {code} after SIGTERM:\n{await made.logs(name)}"


async def test_polling_container_answers_and_keeps_a_ticket_across_a_restart(
    image: str, botapi: BotApiDouble
):
    env = bot_env(botapi, STAFF_CHAT_ID=str(STAFF_CHAT), STAFF_USER_IDS=str(SOPHIE))
    async with containers(image) as made:
        volume = await made.volume()
        first = await made.run(env, volume=volume)
        await polling_started(botapi, made, first)
        assert await bot_uid(first) == BOT_UID
        assert await podman("inspect", "--format", "{{.Config.User}}", first) == "faqbot"
        await healthy(first)

        botapi.push_text(ANNA, QUESTION)
        [answer] = await botapi.wait_for_message(ANNA, timeout=20)
        entry = load_or_raise().entries["kmo-what"]
        assert answer.result["text"].startswith(entry.title("fr"))

        botapi.push_command(ANNA, "ask", TICKET_QUESTION)
        [_, confirmation] = await botapi.wait_for_message(ANNA, count=2, timeout=20)
        number = ticket_number(confirmation)
        assert number is not None, confirmation.params
        await botapi.wait_for_message(STAFF_CHAT, timeout=20)  # the card
        await stopped_by_sigterm(made, first)
        await the_ticket_survives_a_restart(botapi, made, env, volume, number)

        logs = await made.logs(first)
        assert "Application.stop() complete" in logs, logs  # a clean stop, not a kill
        assert TOKEN not in logs and TICKET_QUESTION not in logs


async def the_ticket_survives_a_restart(
    botapi: BotApiDouble, made: Containers, env: dict[str, str], volume: str, number: int
) -> None:
    """A new container on the same volume has the ticket: staff see it with /ticket N."""
    second = await made.run(env, volume=volume)
    await polling_started(botapi, made, second)
    before = len(botapi.sent(STAFF_CHAT))
    botapi.push_command(STAFF_CHAT, "ticket", str(number), user=SOPHIE_USER, chat_type="supergroup")
    shown = (await botapi.wait_for_message(STAFF_CHAT, count=before + 1, timeout=20))[-1]
    assert TICKET_QUESTION in shown.params["text"], shown.params["text"]
    assert shown.params["text"].startswith(f"<b>Ticket n°{number}</b>")
    await healthy(second)
    await stopped_by_sigterm(made, second)


async def test_webhook_container_serves_telegram_healthz_and_metrics(
    image: str, botapi: BotApiDouble
):
    port = free_port()
    env = bot_env(
        botapi,
        TELEGRAM_WEBHOOK_URL=WEBHOOK_URL,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        FAQBOT_LISTEN="127.0.0.1",
        FAQBOT_PORT=str(port),
    )
    async with (
        containers(image) as made,
        aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{port}", timeout=aiohttp.ClientTimeout(total=10)
        ) as http,
    ):
        name = await made.run(env, "run", "--webhook")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert time.monotonic() < deadline, f"never healthy:\n{await made.logs(name)}"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get("/healthz") as response:
                    if response.status == 200 and botapi.webhook_url:
                        break
            await asyncio.sleep(0.2)
        assert botapi.webhook_url == WEBHOOK_URL
        assert await bot_uid(name) == BOT_UID

        update = botapi.push_text(ANNA, QUESTION).update
        async with http.post("/telegram", json=update) as response:
            assert response.status == 403  # no secret
        headers = {SECRET_HEADER: SECRET}
        async with http.post("/telegram", json=update, headers=headers) as response:
            assert response.status == 200
        [answer] = await botapi.wait_for_message(ANNA, timeout=20)
        assert answer.result["text"].startswith(load_or_raise().entries["kmo-what"].title("fr"))

        async with http.get("/healthz") as response:
            health = await response.json()
        assert response.status == 200 and health["status"] == "ok" and health["db"] == "ok"
        metrics = ""
        for _ in range(50):  # the update is counted once its handler has returned
            async with http.get("/metrics") as response:
                assert response.status == 200
                metrics = await response.text()
            if "faqbot_update_seconds_count 1.0" in metrics:
                break
            await asyncio.sleep(0.1)
        assert 'faqbot_questions_total{language="fr",outcome="answer"} 1.0' in metrics
        assert 'faqbot_webhook_requests_total{result="forbidden"} 1.0' in metrics
        assert 'faqbot_webhook_requests_total{result="accepted"} 1.0' in metrics

        # In webhook mode the image's HEALTHCHECK probes /healthz (it printed its answer).
        assert '"faq_entries"' in await healthy(name)
        await stopped_by_sigterm(made, name)
        logs = await made.logs(name)
        assert SECRET not in logs and TOKEN not in logs
        assert any(
            json.loads(line)["msg"].startswith("stopping: no new updates")
            for line in logs.splitlines()
            if line.startswith("{")
        ), logs
