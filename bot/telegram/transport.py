"""How the bot talks to the Bot API: python-telegram-bot's `BaseRequest` over aiohttp, and a
bot that skips an update it cannot read (`TolerantBot`, at the end). Part of the wiring
(bot/app.py builds the Application with them), so it may import `telegram`.

Why not PTB's default `HTTPXRequest`: under load, httpx + httpcore spent about half of the
bot's CPU per update (benchmarks/e2e.py, py-spy: the connection pool checks every idle
connection's socket on every request, and the pure-Python HTTP/1.1 parser), more than the
answer engine, and the bot is CPU-bound there. aiohttp's client parses HTTP in C and keeps its
pool in a deque; the README's benchmark table has the figures.

Same contract as `HTTPXRequest` (PTB's `BaseRequest` API): the timeouts a bot method passes win
over the defaults given here; a timeout raises `telegram.error.TimedOut`, any other transport
failure `telegram.error.NetworkError`; `(status, body)` is returned for every HTTP answer and
PTB turns error statuses into its exceptions. Parameters go as a JSON body (the Bot API takes
`application/json`), uploads as `multipart/form-data`.
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import aiohttp
import certifi
from telegram import Update
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout PTB passes: its own value, or this request object's default when unset."""
    return default if isinstance(value, DefaultValue) else value


def _sum(*parts: float | None) -> float | None:
    """No bound when any part has none."""
    return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


class AiohttpRequest(BaseRequest):
    """One aiohttp `ClientSession` with at most `connection_pool_size` connections.

    The timeouts have httpx's meanings: `connect_timeout` to open a connection, `pool_timeout`
    to wait for a free one, `read_timeout` between two reads of the answer; `write_timeout`
    (aiohttp has none for writing) bounds the whole request together with the other three.
    """

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ):
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """The session is made here, inside the running event loop aiohttp needs."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # certifi's CA bundle, like httpx: the same certificates on any base image.
                connector=aiohttp.TCPConnector(
                    limit=self._pool_size, ssl=ssl.create_default_context(cafile=certifi.where())
                ),
                headers={"User-Agent": self.USER_AGENT},
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _proxy(self, url: str) -> str | None:
        """HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment, like httpx, read once per
        host: aiohttp's own `trust_env` reads them (and ~/.netrc) again on every request,
        which cost 1.6 ms of CPU per Bot API call (benchmarks/e2e.py, echo baseline)."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._proxies:
            proxies = urllib.request.getproxies_environment()
            bypass = urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)
            self._proxies[key] = None if bypass else proxies.get(parts.scheme)
        return self._proxies[key]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data.multipart_data if request_data is not None else None
        read = _seconds(read_timeout, self._read_timeout)
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        write_default = self._media_write_timeout if uploads else self._write_timeout
        write = _seconds(write_timeout, write_default)
        timeout = aiohttp.ClientTimeout(
            total=_sum(pool, connect, write, read),
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        if uploads:
            body: aiohttp.FormData | bytes | None = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                body.add_field(name, value)
            for name, upload in uploads.items():
                filename, content, *mime = upload
                body.add_field(
                    name, content, filename=filename, content_type=mime[0] if mime else None
                )
            headers = None
        elif request_data is not None:
            # `parameters`, not `json_payload`: the latter nests already JSON-encoded strings.
            body, headers = json.dumps(request_data.parameters).encode(), JSON_HEADERS
        else:
            body, headers = None, None
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, proxy=self._proxy(url)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts (ServerTimeoutError…) are TimeoutErrors
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def hide_parse_error_data(record: logging.LogRecord) -> bool:
    """PTB's "Error while parsing updates! Received data was %r": only the update ids, and a
    warning (TolerantBot reads the batch one update at a time next)."""
    if isinstance(record.msg, str) and record.msg.startswith("Error while parsing updates!"):
        data = record.args[0] if isinstance(record.args, tuple) and record.args else None
        ids = [u.get("update_id") for u in data if isinstance(u, dict)] if data else []
        record.msg = "could not parse the batch of updates %s; reading them one by one"
        record.args = (ids,)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
    return True


Journal = Callable[[Sequence[Update], dict[int, dict]], Awaitable[set[int]]]


class AlreadyReceived(Update):
    """An update whose id the inbox already holds: Telegram delivered it again (it was not
    confirmed before a crash). Nothing handles it; its id moves the polling offset on."""

    __slots__ = ()


class TolerantBot(ExtBot):
    """python-telegram-bot's `ExtBot`, except that an update it cannot read is skipped instead
    of stopping the bot.

    PTB parses a whole `getUpdates` batch at once; one update it cannot parse (a field of a
    newer Bot API in a shape this PTB does not expect, say) fails the call, the Updater asks
    for the same batch again, and it fails again: no user is ever answered after it. Here,
    only when the batch fails to parse, each update is read on its own; one that cannot be read
    becomes an empty `Update` with its id (no handler acts on it, and the Updater's offset
    moves past it) and a warning is logged with the update's id, never its content.

    PTB's own line about the failed batch quotes every update in it, users' messages included:
    `hide_parse_error_data` rewrites it without them.
    """

    _raw_updates: list[Any] | None = None

    def __init__(self, *args: Any, journal: Journal | None = None, **kwargs: Any):
        """`journal`: where received updates are written before Telegram is told that they
        arrived (the inbox); `await journal(updates, raw JSON by update id)` returns the ids
        never seen before."""
        super().__init__(*args, **kwargs)
        self._journal = journal
        self._LOGGER.addFilter(hide_parse_error_data)  # once: addFilter skips a filter it has

    async def record_received(self, updates: Sequence[Update], raw: dict[int, dict]) -> set[int]:
        """Write `updates` to the journal; the ids of those never received before."""
        if self._journal is None:
            return {u.update_id for u in updates}
        return await self._journal(updates, raw)

    async def close_transport(self) -> None:
        """Close both HTTP clients, even when `initialize` failed half-way: a bad token (401)
        or an unreachable Bot API at start leaves the bot uninitialized, so PTB's `shutdown`
        does nothing, and aiohttp then reports "Unclosed client session" at exit."""
        for request in self._request:
            await request.shutdown()

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, *args, **kwargs)
        if endpoint == "getUpdates":
            self._raw_updates = result  # kept for get_updates, should the batch not parse
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """The updates of one poll, written to the `journal` before they are returned (the
        Updater confirms them with its next offset); an update seen before comes back as an
        `AlreadyReceived`, which moves the offset on but is not handled again."""
        updates = await self._fetch_updates(*args, **kwargs)
        raw, self._raw_updates = self._raw_updates, None
        if not updates:
            return updates
        by_id = {
            item["update_id"]: item
            for item in raw or []
            if isinstance(item, dict) and isinstance(item.get("update_id"), int)
        }
        new = await self.record_received(updates, by_id)
        return tuple(u if u.update_id in new else AlreadyReceived(u.update_id) for u in updates)

    async def _fetch_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        self._raw_updates = None
        try:
            return await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise  # the request itself failed: the Updater tries again
        except Exception:
            raw = self._raw_updates
            if raw is None:
                raise
            return tuple(self._read_one_by_one(raw))

    def _read_one_by_one(self, raw: list[Any]) -> Iterator[Update]:
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                log.warning("getUpdates returned an item without an update id: skipped")
                continue
            try:
                update = Update.de_json(item, self)
            except Exception as exc:
                kinds = sorted(k for k in item if k != "update_id")
                log.warning(
                    "update %d (%s) could not be read: %s; skipped",
                    update_id,
                    ", ".join(kinds) or "empty",
                    type(exc).__name__,
                )
                update = Update(update_id)
            self.insert_callback_data(update)
            yield update
