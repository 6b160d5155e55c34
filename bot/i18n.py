"""Translations of every user-facing string, from the gettext catalogs in `locales/`.

Messages are written in English in the code (`_("…")`), extracted with `pybabel extract`,
translated in `locales/{fr,de,en}/LC_MESSAGES/messages.po` and compiled to `.mo` by the set-up
and test commands. Numbers the bot shows are formatted with Babel for the user's locale.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

# The compiled catalogs: FAQBOT_LOCALES_DIR (set by the Docker image, see scripts/install.sh),
# else locales/ beside the package (a source checkout or an editable install).
LOCALES_DIR = Path(
    os.environ.get("FAQBOT_LOCALES_DIR", "").strip()
    or Path(__file__).resolve().parent.parent / "locales"
)
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


def format_duration(seconds: float, language: str) -> str:
    """A rounded duration as the user's locale says it: "90 minutes", "26 Stunden", "3 jours".

    A unit is used from two of it on, so "26 hours" stays hours rather than "1 day".
    """
    return format_timedelta(max(seconds, 0.0), threshold=2, locale=language)
