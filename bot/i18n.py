"""Translations of every user-facing string, from the gettext catalogs in `locales/`.

Messages are written in English in the code (`_("…")`), extracted with `pybabel extract`,
translated in `locales/{fr,de,en}/LC_MESSAGES/messages.po` and compiled to `.mo` by the set-up
and test commands. Numbers the bot shows are formatted with Babel for the user's locale.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("fr", "de", "en")
LANGUAGE_NAMES = {"fr": "🇫🇷 Français", "de": "🇩🇪 Deutsch", "en": "🇬🇧 English"}

log = logging.getLogger(__name__)


@cache
def translations(language: str, locales_dir: Path = LOCALES_DIR) -> NullTranslations:
    """The catalog of `language`; compiled from its `.po` in memory if the `.mo` is missing."""
    mo = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists():
        with mo.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    if po.exists():
        log.warning("%s is not compiled; run 'pybabel compile -d locales'", mo)
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


def gettext_for(language: str) -> Callable[[str], str]:
    """`_` for one language: `_ = gettext_for("de"); _("Ask the team")`."""
    return translations(language if language in LANGUAGES else "en").gettext


def format_number(value: float, language: str) -> str:
    """3 430 / 3.430 / 3,430, as the user's locale writes it."""
    return format_decimal(value, locale=language)
