"""Shared pytest fixtures."""

import pytest_asyncio

from tests.botapi_double import BotApiDouble


@pytest_asyncio.fixture
async def botapi():
    """A running local Bot API double (see tests/botapi_double.py); stopped after the test.

    Build bots against it with ``ApplicationBuilder().token(T).base_url(f"{botapi.url}/bot")``.
    """
    async with BotApiDouble() as double:
        yield double
