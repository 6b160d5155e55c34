"""Detect whether a question is written in French, German or English.

Short, informal, accentless questions ("c koi kmo", "wo ist kmo") defeat general-purpose
detectors trained on long text; three languages and a known domain let a small lexicon do
better. Evidence comes from grammar words, letters and endings typical of one language, and the
words the knowledge base itself uses in each language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.answering.text import fold

LANGUAGES = ("fr", "de", "en")

# Words that are frequent in one language and rare in the other two (folded, no accents).
MARKERS: Mapping[str, frozenset[str]] = {
    "fr": frozenset(
        """
        le la les un une des du de au aux et est sont c ce cet cette qui que quoi quel quelle
        quels quelles quand comment combien pourquoi ou dans avec pour par sur pas ne je tu il
        nous vous ils elle on mon ma mes son sa ses notre votre leur y a ai avez avons sommes
        suis etes peut peux faut bonjour salut merci svp stp koi kel cest qu j l d n s t m
        oui non aussi tres entreprise entreprises emploi emplois formation formations salon
        industrie territoire territoires quoi ca chez apres avant depuis entre encore deja
        voudrais aimerais cherche besoin savoir connaitre ete etre avoir fait faire
        aide coucou euh
        """.split()
    ),
    "de": frozenset(
        """
        der die das den dem des ein eine einen einem einer und ist sind was wer wie wo wann
        warum wieso welche welcher welches wieviel wieviele gibt es ich du er sie wir ihr nicht
        kein keine mit fur von zu zum zur im am auf aus bei nach uber unter auch noch schon nur
        hallo danke bitte guten tag moin servus gruezi kann konnen muss mochte wurde habe hat
        haben wird werden bin bist mein meine unser unsere dieser diese dieses oder aber wenn
        dass weil denn mal gerne heisst bedeutet steht welchen wofur wozu worum erklaren
        unternehmen firma betriebe stellen ausbildung weiterbildung messe besucher gebiet
        gebiete region regionen industriegebiet stadt jahr jahre vom beim neue neuen genaue
        sucht suche mitarbeiter kontakt eintritt preis preise kosten wann ja nein
        hilfe tschuss ahm
        """.split()
    ),
    "en": frozenset(
        """
        the a an and is are was were what who how where when why which whats wheres whos hows
        of to in on for with from by at about this that these those there their they it its
        i you we my your our me us can could would should will do does did have has had not
        no yes hello hi hey thanks thank please much many any some tell know explain want like
        company companies business jobs job training fair visitors territory territories
        region industry funding money budget support help team people open students
        project price ticket tickets twenty twelve thirty hundred next best near get
        """.split()
    ),
}

# Letters and endings: weaker evidence, but present even when no grammar word is.
_LETTER_CUES = {
    "fr": re.compile(r"[éèêàçœùûîïô]"),
    "de": re.compile(r"[äöüß]"),
}
_ENDING_CUES = {
    "fr": re.compile(r"(?:tion|eux|eur|ais|ait|ees?|ique|ement|oir)$"),
    "de": re.compile(
        r"(?:ung|keit|heit|sch\w*|ungen|lich|isch|chen|zahl|zhal|tz|chs|ieren|frist|preis)$"
    ),
    "en": re.compile(r"(?:ing|ness|ship|ed|ly|ies)$"),
}


# An English contraction: "I" or a word of two letters or more, an apostrophe, s/t/m/re/ve/
# ll/d (French elides after one letter or "qu": "c'est", "qu'est", "l'usine").
_CONTRACTION = re.compile(
    r"(?:(?<=[a-z]{2})(?<!qu)|(?<=\bi)|(?<=\byou))['\u2019](?:s|t|m|re|ve|ll|d)\b"
)


# Names of the programme's places and schemes are French in every language ("was ist die
# Maison de l'Industrie"): they say nothing about the language the user writes in.
PROPER_NAMES = re.compile(
    r"\b(?:territoires? d industries?|maison de l industrie|cite du numerique|"
    r"industrie du futur|campus industrie 40|centre technologique d excellence|"
    r"usine ecole|pedagogies? inversees?|plan d investissement dans les competences|"
    r"territoires d innovation de grande ambition|conseil national de l industrie|"
    r"universite de haute alsace|mulhouse alsace agglomeration|region grand est|"
    r"sud alsace|haute alsace|grand est|institut trinational de recherche)\b"
)


@dataclass(frozen=True)
class LanguageGuess:
    """A detected language and how sure the detector is (0: no evidence, 1: certain)."""

    language: str
    confidence: float
    scores: Mapping[str, float]


def vocabulary_lexicon(
    words_by_language: Mapping[str, Iterable[str]],
) -> dict[str, frozenset[str]]:
    """Folded words used in one language of a corpus and in none of the others."""
    seen = {lang: set(words) for lang, words in words_by_language.items()}
    return {
        lang: frozenset(
            w for w in ws - set().union(*(seen[o] for o in seen if o != lang)) if len(w) > 3
        )
        for lang, ws in seen.items()
    }


def detect_language(
    text: str,
    default: str = "fr",
    lexicon: Mapping[str, frozenset[str]] | None = None,
    markers: Mapping[str, frozenset[str]] = MARKERS,
) -> LanguageGuess:
    """Guess the language of `text` among fr/de/en; `default` when there is no evidence.

    `lexicon` adds words known to belong to one language only (for example the knowledge
    base's own vocabulary, from `vocabulary_lexicon`).
    """
    scores = {lang: 0.0 for lang in LANGUAGES}
    raw = unicodedata.normalize("NFC", text.lower())
    if "'" in raw or "\u2019" in raw:
        # "what's", "don't", "I'm": English, and their "s", "t", "m" are not French elisions
        raw, contractions = _CONTRACTION.subn(" ", raw)
        scores["en"] += 1.0 * contractions
        text = raw
    for lang, cue in _LETTER_CUES.items():
        scores[lang] += 0.75 * len(cue.findall(raw))
    for word in PROPER_NAMES.sub(" ", fold(text)).split():
        for lang in LANGUAGES:
            if word in markers[lang]:
                scores[lang] += 1.0
            if lexicon and word in lexicon.get(lang, ()):
                scores[lang] += 0.6
            if len(word) > 4 and _ENDING_CUES[lang].search(word):
                scores[lang] += 0.3
    # Ties go to the default language: it is the user's known preference.
    best = max(LANGUAGES, key=lambda lang: (scores[lang], lang == default))
    if scores[best] <= 0:
        return LanguageGuess(default, 0.0, scores)
    total = sum(scores.values())
    return LanguageGuess(best, scores[best] / total if total else 0.0, scores)
