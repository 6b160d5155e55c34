"""Operations: staff are told in the staff chat when the database stops keeping data, and
again when it works again (once each, not at every probe).

A JobQueue job (`watch_storage`, at start and then every `PROBE_INTERVAL`) probes a real
write (`bot.store.health`) and, at start and every 10 minutes, the file's integrity. What staff
were last told is kept in memory (`bot_data[STORAGE_TOLD]`): after a restart on a still broken
database they are told again, which is what a restart should do. A message that cannot reach
the staff chat is tried again at the next probe. The alert goes straight to the Bot API: it
must not depend on the database it reports about.

Without a staff chat, the transitions are only logged (an error, then a warning when fixed).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.store.health import CORRUPTED, StorageHealth, StorageState
from handlers import texts
from handlers.common import settings_of, storage_of

log = logging.getLogger(__name__)

PROBE_INTERVAL = timedelta(seconds=30)
JOB_NAME = "storage health"
# bot_data: the storage problem staff were last told of (None: they know it works).
STORAGE_TOLD = "storage_told"


def storage_health_of(context: ContextTypes.DEFAULT_TYPE) -> StorageHealth:
    return StorageHealth.of(storage_of(context))


def _probe(health: StorageHealth) -> StorageState:
    if health.integrity_due():
        health.check_integrity()
    return health.probe_write()


async def watch_storage(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: probe, and tell staff if the state changed since they were last told."""
    state = await asyncio.to_thread(_probe, storage_health_of(context))
    told = context.bot_data.get(STORAGE_TOLD)
    if state.problem == told:
        return
    if state.ok:
        log.warning("storage works again")
    else:
        log.error("storage problem: %s", state.reason)
    settings = settings_of(context)
    if settings.staff_chat_id is None:
        context.bot_data[STORAGE_TOLD] = state.problem
        return
    language = settings.default_language
    if state.ok:
        text = texts.staff_storage_recovered(language)
    else:
        text = texts.staff_storage_failed(language, state.problem == CORRUPTED, state.detail)
    try:
        await context.bot.send_message(settings.staff_chat_id, text)
    except TelegramError as exc:
        log.warning("could not tell staff about storage (next try in %s): %s", PROBE_INTERVAL, exc)
        return
    context.bot_data[STORAGE_TOLD] = state.problem


def register(application: Application) -> None:
    """The jobs of this module (called once by `bot.telegram.app.build_application`)."""
    # At start (a repeating job whose first time has passed when the JobQueue starts waits a
    # whole interval, so the first run is a job of its own), then every PROBE_INTERVAL.
    application.job_queue.run_once(watch_storage, when=0, name=f"{JOB_NAME} at start")
    application.job_queue.run_repeating(
        watch_storage, interval=PROBE_INTERVAL, first=PROBE_INTERVAL, name=JOB_NAME
    )
