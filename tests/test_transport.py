"""transport.AiohttpRequest: the bot's HTTP client keeps python-telegram-bot's contract.

Through a real `telegram.Bot` and real HTTP against the Bot API double (and two bare sockets
for the failures): what the Bot API receives, and the exceptions PTB's callers rely on
(`TimedOut` is retried by bot.app.RetryingRateLimiter, `NetworkError` too).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram.transport import AiohttpRequest

TOKEN = "5151:TRANSPORT-token-never-real"
CHAT = 4242


def make_bot(url: str, **request_kwargs: float) -> Bot:
    return Bot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(connection_pool_size=8, **request_kwargs),
        get_updates_request=AiohttpRequest(),
    )


async def test_messages_with_nested_parameters_arrive_as_sent(botapi):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Oui ✅", callback_data="fb:1:fr:kmo")]])
    async with make_bot(botapi.url) as bot:
        sent = await bot.send_message(
            CHAT, "KMØ <b>Mulhouse</b>", parse_mode="HTML", reply_markup=markup
        )
        await bot.set_my_commands([BotCommand("start", "Démarrer")], language_code="fr")

    assert sent.text == "KMØ Mulhouse" and sent.reply_markup == markup
    send = next(c for c in botapi.calls if c.method == "sendMessage")
    assert send.params["chat_id"] == CHAT
    assert send.params["reply_markup"] == markup.to_dict()
    commands = next(c for c in botapi.calls if c.method == "setMyCommands")
    assert commands.ok, commands.error
    assert commands.params["commands"] == [{"command": "start", "description": "Démarrer"}]


async def test_uploads_go_as_multipart_with_name_and_type(botapi):
    async with make_bot(botapi.url) as bot:
        await bot.send_document(CHAT, b"id,question\n1,KMO\n", filename="questions.csv")

    call = next(c for c in botapi.calls if c.method == "sendDocument")
    assert call.ok, call.error
    upload = next(iter(call.files.values()))
    assert upload["filename"] == "questions.csv"
    assert upload["size"] == len(b"id,question\n1,KMO\n")


async def test_an_error_answer_becomes_ptb_s_exception(botapi):
    botapi.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    async with make_bot(botapi.url) as bot:
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(CHAT, "hello")


async def test_a_request_left_unanswered_times_out_at_the_read_timeout(botapi):
    botapi.timeout_delay = 3.0
    botapi.fail_next("sendMessage", "timeout")
    async with make_bot(botapi.url, read_timeout=0.3) as bot:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "hello")
        assert time.monotonic() - started < 2.0
        # a timeout passed by the call wins over the default
        botapi.fail_next("sendMessage", "timeout")
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "hello", read_timeout=0.1)
        assert time.monotonic() - started < 1.0
        # and the next request goes through on the same client
        assert (await bot.send_message(CHAT, "still here")).text == "still here"


@contextlib.contextmanager
def closed_port():
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


async def test_no_server_is_a_network_error():
    with closed_port() as port:
        request = AiohttpRequest()
        await request.initialize()
        try:
            with pytest.raises(NetworkError) as raised:
                await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
            assert not isinstance(raised.value, TimedOut)
            assert "aiohttp." in str(raised.value)
        finally:
            await request.shutdown()


async def test_a_server_that_hangs_up_is_a_network_error():
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError):
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()


async def test_using_it_before_initialize_or_after_shutdown_says_so(botapi):
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{botapi.url}/bot{TOKEN}/getMe")
    await request.initialize()
    await request.shutdown()
    await request.shutdown()  # twice is harmless
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{botapi.url}/bot{TOKEN}/getMe")
    await request.initialize()  # and it can start again
    try:
        assert (await request.post(f"{botapi.url}/bot{TOKEN}/getMe"))["is_bot"] is True
    finally:
        await request.shutdown()


async def test_the_proxy_of_the_environment_is_used(monkeypatch):
    """Behind a company proxy (HTTPS_PROXY/HTTP_PROXY, like httpx honoured): the Bot API
    calls go through it."""
    seen: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await reader.readline()).decode().strip())
        while (await reader.readline()).strip():
            pass  # headers; the body is not needed
        body = b'{"ok": true, "result": {"id": 1, "is_bot": true, "first_name": "Bot"}}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    request = AiohttpRequest()
    await request.initialize()
    try:
        me = await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()
    assert me["is_bot"] is True
    assert seen == [f"POST http://api.telegram.invalid/bot{TOKEN}/getMe HTTP/1.1"]


async def test_a_server_with_an_untrusted_certificate_is_refused(tmp_path):
    """Only a certificate a public CA vouches for is Telegram: a self-signed one is refused."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    answered: list[bool] = []

    async def fake_telegram(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            await reader.readline()
            answered.append(True)
        writer.close()

    server = await asyncio.start_server(fake_telegram, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match="(?i)certificate"):
            await request.post(f"https://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()
    assert answered == []  # no request ever reached it


async def test_no_proxy_exempts_its_hosts(botapi, monkeypatch):
    with closed_port() as dead:
        for name in ("http_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")  # would fail if used
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        async with make_bot(botapi.url) as bot:
            assert (await bot.get_me()).is_bot
