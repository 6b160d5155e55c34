"""`CallbackQueryHandler` that never takes a button without data for one of its patterns.

python-telegram-bot's `CallbackQueryHandler.check_update` matches `pattern` against the
callback data only when there is some: a query whose data is empty or missing (and that is not
a game) is accepted by every handler, whatever its pattern. The first one registered, the
language picker, then ran with no match to read and failed. Buttons the bot sends always carry
data (`handlers.callbacks.fits`), so such a query is an old or forged one; with this class it
reaches the catch-all handler (registered without a pattern), which answers it politely.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler as _PTBCallbackQueryHandler


class CallbackQueryHandler(_PTBCallbackQueryHandler):
    """PTB's handler, except that a pattern never accepts empty or missing data."""

    def check_update(self, update: object) -> bool | object | None:
        if (
            self.pattern is not None
            and isinstance(update, Update)
            and update.callback_query is not None
            and not update.callback_query.data
            and not update.callback_query.game_short_name
        ):
            return False
        return super().check_update(update)
