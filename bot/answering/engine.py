"""The answer engine: from a free-text question to one decision the user will see.

`classify` holds the decision rules as a small pure function; `Engine` wires the knowledge
base, the match index, language detection and the translated texts around it. The terminal
chat and the Telegram handlers both use `Engine.decide`.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Set
from dataclasses import dataclass, field, replace
from itertools import chain

from rapidfuzz import fuzz, process

from bot.answering.dialogue import DialogueState
from bot.answering.knowledge import LANGUAGES, Entry, KnowledgeBase
from bot.answering.language import LanguageGuess, detect_language, vocabulary_lexicon
from bot.answering.matcher import (
    OFF_TOPIC_CUES,
    TRAVEL_WORDS,
    Candidate,
    MatchIndex,
    MatchSettings,
    asks_out_of_scope,
    build_index,
    is_cue,
    match,
    years_in,
)
from bot.answering.text import QUESTION_WORDS, fold, folded_tokens, token_of, tokens
from bot.answering.text import words as words_of
from bot.i18n import gettext_for

ANSWER, SUGGEST, ESCALATE, SMALLTALK = "answer", "suggest", "escalate", "smalltalk"
# A known subject asked for what the FAQ does not hold (a price, hours, a contact): said plainly,
# with the subject's entry and "Ask the team". Nothing to do with the programme (the weather, a
# joke): what the assistant covers. Too vague to answer without context ("et ça ?"): say more.
GAP, OFF_TOPIC, CLARIFY = "gap", "off-topic", "clarify"
STATUSES = (ANSWER, SUGGEST, ESCALATE, SMALLTALK, GAP, OFF_TOPIC, CLARIFY)
MAX_SUGGESTIONS = 3
# Two near-tied entries are no tie when the best explains all of the question and the other
# this much less (`classify`).
TIE_EXPLAINED_GAP = 0.2
# In a near tie, the candidate that explains this much of the question, and this much more
# than the other, wins ("was für Ausbildungsangebote im Haus der Industrie?": the training
# methods explain 0.87 of it, the Maison de l'Industrie 0.32).
EXPLAINS_MOST, EXPLAINS_MORE = 0.8, 0.4
# What joins two questions in one message.
COMPOUND = re.compile(r"\s(?:and|et|und|&)\s", re.IGNORECASE)
# Two answers this short (characters) are shown together for a compound question.
SHORT_ANSWER = 520
# A duration the user tells of themselves ("depuis six mois", "seit 2 Monaten", "for a year"),
# in folded text.
DURATION = re.compile(
    r"\b(?:\d+|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|ein|einem|einen|zwei|drei|"
    r"vier|funf|fuenf|sechs|sieben|acht|neun|zehn|a|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|several|plusieurs|mehreren|paar)\s+(?:mois|monat|monate|monaten|month|months)\b"
    # years only after "since", "depuis"…: "perdus en 10 ans" asks about those ten years
    r"|\b(?:since|for|depuis|seit)\s+(?:\d+|un|une|deux|trois|ein|einem|zwei|drei|a|one|two|"
    r"three|several|plusieurs|mehreren)\s+(?:an|ans|annee|annees|jahr|jahren|year|years)\b"
    # when something happened to the user: "I lost my job last month", "le mois dernier"
    r"|\b(?:last\s+month|le\s+mois\s+dernier|letzten\s+monat|vorigen\s+monat)\b"
)
# "In erster Linie", "avant tout": how much, not what ("für welche Unternehmen ist das
# Technocentre in erster Linie gedacht?"), in folded text.
FOREMOST = re.compile(
    r"\b(?:in\s+erster\s+linie|vor\s+allem|en\s+premier\s+lieu|avant\s+tout|surtout|"
    r"first\s+and\s+foremost|above\s+all|mainly|mostly|hauptsachlich)\b"
)
# "Quel temps fera-t-il ?", "il fait beau demain ?" ask the weather, in folded text ("temps"
# and "beau" alone are no weather).
WEATHER = re.compile(
    r"\b(?:quel\s+temps|(?:il\s+)?(?:va\s+)?(?:fait|faire|fera)\s+(?:beau|chaud|froid)"
    r"|il\s+(?:pleut|va\s+pleuvoir|pleuvra))\b"
)
# "Wo genau ist das?", "où exactement ?": an address asked, which the article never gives.
EXACT_PLACE = re.compile(
    r"\b(?:ou|wo|where)\s+(?:\w+\s+)?(?:exactement|precisement|genau|exactly|precisely)\b"
)
# "Which ones?" asked of what was just shown ("lesquelles ?", "und welche sind das?", "can
# you name them?"), in folded text: a list, made the request word "lister".
WHICH_ONES = re.compile(
    r"\b(?:lesquel(?:le)?s|quel(?:le)?s\s+sont\s+(?:ils|elles)|les\s+(?:citer|nommer)"
    r"|which\s+ones|which\s+are\s+they|(?:name|list)\s+them"
    r"|welche\s+(?:sind|waren)\s+(?:das|es|sie)|welche\s+denn|sie\s+(?:nennen|aufzahlen))\b"
)
# An answer that enumerates: a list after a colon ("quatre besoins : recruter, innover, … et
# simplifier"), or a sentence of three commas or more closed by "and" ("UHA, CCI, … and CETIM").
COLON_LIST = re.compile(r":[^.;]*,[^.;]*\b(?:et|and|und|sowie)\b")
LIST_END = re.compile(r"\b(?:et|and|und|sowie)\b")
SENTENCES = re.compile(r"(?<=[.!?])\s+")


def enumerates(text: str) -> bool:
    """Whether an answer lists things (what "which ones?" after it asks for)."""
    return any(
        COLON_LIST.search(sentence)
        or (sentence.count(",") >= 3 and LIST_END.search(sentence.rsplit(",", 1)[1]))
        for sentence in SENTENCES.split(text)
    )


# "phone number", "numéro de téléphone": one request (a "number" alone is a count).
PHONE_NUMBER = re.compile(
    r"\b(?:(?:tele)?phone\s+numbers?|numeros?\s+de\s+(?:telephone|tel)|tel\s+numbers?)\b"
)
# Job offers asked ("job offers", "offres d'emploi"), in folded text: the FAQ has none ("offre
# de formations" alone is the training the FAQ describes).
JOB_OFFERS = re.compile(
    r"\b(?:job\s+offers?|offres?\s+d\s+emplois?|job\s+openings?|open\s+jobs?)\b"
)
# Opening hours asked ("wann hat es offen?", "when is it open?", "c'est ouvert quand ?"), in
# folded text; "ouvert aux étudiants", "open to start-ups" say who, and stay as they are.
OPENING_HOURS = re.compile(
    r"\b(?:wann\s+(?:hat|ist|sind|haben)(?:\s+\w+){0,3}?\s+(?:offen|geoffnet|auf)"
    r"|(?:offen|geoffnet)\s+wann"
    r"|when\s+(?:is|are)(?:\s+\w+){0,3}?\s+open"
    r"|what\s+time\s+(?:does|do|is|are)(?:\s+\w+){0,4}?\s+open"
    r"|open\s+when"
    r"|quand\s+(?:est|sont)(?:\s+\w+){0,4}?\s+ouverte?s?"
    r"|ouverte?s?\s+quand)\b"
)
_OPEN_WORD = re.compile(
    r"^(?:offen|geoffnet|open|ouverte?s?)\b|\b(?:offen|geoffnet|auf|open|ouverte?s?)$"
)


def opening_hours(found: re.Match) -> str:
    """An `OPENING_HOURS` phrase with its "open" made "horaires" (the other words stay)."""
    return _OPEN_WORD.sub("horaires", found[0])


# A train taken ("the next train from Basel", "train station"), in folded text: a journey;
# "train" alone is learning ("can I train at FORMLAB?"), "trains" made ("parts for trains").
BY_TRAIN = re.compile(
    r"\b(?:(?:next|first|last|the|a|by)\s+trains?|trains?\s+(?:station|times?|schedules?))\b"
)
# Other regions' names or a list's names asked ("welche anderen Regionen", "d'autres
# territoires", "wie heissen die 11 Gemeindeverbände", "what are the names of"), in folded
# text: a list the article never gives, made the request word "lister".
NAMES_ASKED = re.compile(
    r"\b(?:(?:anderen?|autres?|other)(?=\s+(?:regionen|regions?|territoires?|territories"
    r"|territorien|gebiete|pilots?|pilotes?|piloten|pilotgebiete)\b)|wie\s+heissen"
    r"|comment\s+s\s+appellent|(?:what|which)\s+are\s+the\s+names|les\s+noms\s+des?)\b"
)
# A place asked ("où est…", "c'est où ?", "und wo kommen die hin?", "in which city"), in folded
# text, where "ou" alone is also "or"; and the towns and sites an answer may name as where
# something is.
WHERE_IN_QUESTION = re.compile(
    r"\b(?:wo|wohin|where|quelle\s+ville|welcher?\s+stadt|(?:which|what)\s+(?:city|town))\b"
    r"|\bou\s+(?:est|sont|se|seront|sera|serait|trouve|ca|c)\b"
    r"|\bou\s*(?:exactement\s*)?\??\s*$"
)
TOWNS = re.compile(
    r"\b(?:mulhouse|colmar|strasbourg|basel|bale|freiburg|paris"
    r"|maison\s+de\s+l\s+industrie|haus\s+der\s+industrie)\b"
)
# "opening year", "année d'ouverture", "Eröffnungsjahr": when it opened, not its hours.
OPENING_YEAR = re.compile(
    r"\b(?:(?:opening|ouverture|eroffnung)\s+(?:year|date)|(?:annee|date)\s+d\s+ouverture"
    r"|eroffnungsjahr|eroffnungsdatum)\b"
)
# The exact day asked ("wann genau?", "an welchem Tag", "c'est quand exactement ?", "what
# date?"), in folded text, and the day-level dates an answer may give ("22 novembre").
EXACT_DAY = re.compile(
    r"\b(?:wann\s+(?:\w+\s+){0,4}?genau|genau\s+wann|an\s+welchem\s+tag|welche[sm]?\s+datum"
    r"|genaue[sn]?\s+datum|quel\s+jour|quelle\s+date|date\s+exacte|quand\s+exactement"
    r"|exactement\s+quand|when\s+exactly|exactly\s+when|what\s+date|which\s+day|what\s+day"
    r"|exact\s+date)\b"
)
_MONTHS = (
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "januar februar marz april juni juli august oktober dezember january february march may "
    "june july october december september november"
)
DAY_DATE = re.compile(r"\b\d{1,2}(?:er)?\s+(?:" + "|".join(_MONTHS.split()) + r")\b")
# "week-end", "week end": one word, the request word "weekend" ("end" alone is no weekend).
WEEKEND = re.compile(r"\bweek\s+ends?\b")


# What users write, rewritten as what it asks (folded text, in this order): context dropped,
# requests made the request words the FAQ's gap questions and cues use.
AS_ASKED = (
    (FOREMOST, " "),
    (DURATION, " "),
    (WEATHER, " meteo "),
    (WEEKEND, " weekend "),
    (BY_TRAIN, " railway "),
    (EXACT_PLACE, " adresse "),
    (OPENING_YEAR, " quand "),
    (OPENING_HOURS, opening_hours),
    (WHICH_ONES, " lister "),
    (NAMES_ASKED, " lister "),
    (PHONE_NUMBER, " telephone "),
    (JOB_OFFERS, " vacancy "),
)


def as_asked(folded: str) -> str:
    """A folded question with `AS_ASKED` applied: "depuis six mois" dropped, "wo genau ist
    das?" made "adresse", "lesquelles ?" made "lister"."""
    for pattern, replacement in AS_ASKED:
        folded = pattern.sub(replacement, folded)
    return folded


# A sum to work out ("17 fois 23", "2+2", "15% of 240"); not a range of years ("2018-2020").
ARITHMETIC = re.compile(
    r"\d\s*(?:[+*/×÷=]|fois|mal|times|plus|moins|minus|geteilt durch|divided by)\s*\d"
    r"|\d\s*%\s*(?:of|de|von)\s*\d"
)
# A follow-up that asks only when, or over what time ("sur combien de temps ?", "over what
# period?", "ab wann?", "et c'était prévu pour quand ?"), in tokens.
TIME_ASKED = frozenset(
    "qwhen qcount temps duree periode period zeitraum dauer zeit year years annee jahr "
    "prevu prevue prevus geplant planned scheduled ab seit depuis pendant since during "
    # what begins at a date: "wann wurde es eröffnet?", "il a été créé quand ?"
    "cree creee crees fonde fondee lance lancee inaugure eroffnet eroeffnet gegrundet "
    "gegruendet gestartet geschaffen created founded launched opened started start starts "
    "begin began commence debut beginnt begann angefangen".split()
)
TIME_WORDS = frozenset(
    "qwhen temps duree periode period zeitraum dauer zeit year years annee jahr".split()
)
# A date or a span in an answer, once its "as of March 2019" is set aside (folded text).
AS_OF = re.compile(r"\b(?:march|mars|marz|maerz)\s+2019\b")
COUNT_IN_ANSWER = re.compile(
    r"\b(?!(?:1[89]|20)\d\d\b)\d+\b"
    r"|\b(?:vingtaine|dizaine|douzaine|centaine|twenty|dozen|zwanzig|dutzend)\b"
)
# An amount asked in words the FAQ holds ("the yearly budget of the Campus"; a price or a cost
# is a request it never holds), and an amount given (folded text).
AMOUNT_ASKED = frozenset("budget haushalt montant betrag amount enveloppe envelope".split())
MONEY_WORDS = frozenset("argent geld money".split())  # an amount with "how much" only
MONEY_IN_ANSWER = re.compile(
    r"\b(?:euros?|milliards?|millions?|milliarden?|millionen?|billion|mrd|mds?)\b"
)
# "Industrie 4.0", "Be 4.0", "4iTec 4.0" folded: names, not numbers
NAMED_FOUR_POINT_O = re.compile(r"\b(?:industrie|industry|be|4itec)\s*40\b|\b4itec\b")
TIME_IN_ANSWER = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:decade|decennie|jahrzehnt|years|ans|jahren|jahre)\b"
)
# Words that address the assistant itself ("what can you do?", "tu sers à quoi ?").
ADDRESSED = frozenset(
    "you your yours tu toi ton ta tes vous votre vos du dich dir dein deine deinen deiner ihr "
    "euch euer eure bot assistant chatbot".split()
)
# Words that point back at a subject as a place or its people ("do they speak english
# there?"), not at this assistant.
THERE_THEY = frozenset("there they them labas ils elles dort druben drueben".split())
# Where a sentence ends, inside a message of several.
SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")
# A follow-up is short: at most this many content words of its own.
FOLLOW_UP_WORDS = 3
# Words that open a message continuing the conversation ("et pour les étudiants ?").
CONTINUATIONS = frozenset("et and und also aussi auch sinon".split()) | {"what about", "how about"}
# A message of nothing but these asks nothing ("et ?", "und?", "and then?").
BARE_CONTINUATIONS = frozenset(
    "et and und also aussi auch sinon alors dann then donc so weiter ensuite puis ou oder or "
    "else".split()
)
# The question words that say what is asked (when, who, how many, why): an entry none
# of whose questions asks it is not what a question asking it wants, when one that does is
# this close behind.
ASKED_WORDS = frozenset("qwhen qwho qcount qwhy".split())
ASKED_WORD_MARGIN = 20.0
# How many entries closest to a question are read for a name another one's answer also gives.
NAME_POOL = 12
# A correction of the question before ("je voulais dire…", "ich meinte…", "I meant…"), in
# folded text: what follows is a new subject.
CORRECTION = re.compile(
    r"\b(?:je\s+voulais\s+dire|je\s+veux\s+dire|je\s+parlais\s+d[eu]?|ich\s+meinte"
    r"|ich\s+meine|i\s+meant|i\s+mean)\b"
)
# "ce projet", "that project", "dieses Projekt" (folded): a thing pointed at, by its noun.
DEMONSTRATIVE = re.compile(
    r"\b(?:ce|cet|cette|ces|this|that|these|those|dies(?:e|er|es|em|en)?)\s+(\w+)"
)
# ...and, after a continuation, words that point back at what came before ("et pour les
# étudiants ?", "and for students?", "what about it?"): with nothing before, say more.
POINTING_BACK = frozenset("pour for fur avec with mit sans without ohne ca it es das that".split())
QUESTION_WORD_TOKENS = frozenset(QUESTION_WORDS.values())
# A short question answered both alone and with the subject: the subject's answer wins unless
# the other scores this much more.
FOLLOW_UP_MARGIN = 5.0
# ...and by this much when it opens by continuing ("und ist Sud Alsace dabei?", "et pour…").
CONTINUATION_MARGIN = 30.0
# A question without content words is about the assistant when this close to one of its
# entry's variants (rapidfuzz ratio, 0-100).
VAGUE_SIMILARITY = 60.0


@dataclass(frozen=True)
class Thresholds:
    """Scores (0-100) that separate answering, suggesting and escalating.

    Calibrated with `faqbot eval tests/data/eval.yaml`; override with FAQBOT_ANSWER_SCORE,
    FAQBOT_SUGGEST_SCORE and FAQBOT_TIE_MARGIN.
    """

    answer: float = 50.0
    suggest: float = 30.0
    # Two entries closer than this are a near tie: suggest both rather than guess.
    tie_margin: float = 3.0
    # The answered entry must explain at least this share of the question's weight: "the
    # budget of KMØ" shares "budget" with one entry and "KMØ" with another, and neither is it.
    min_explained: float = 0.48


def asked_sentence(message: str) -> str | None:
    """The sentence that asks, in a message of several ("I run a small supplier in Lörrach.
    Who is the Technocentre for?"): its last sentence ending with a question mark, else its
    last sentence; None for a message of one sentence. Context words then no longer dilute
    the question."""
    sentences = [s for s in SENTENCE_END.split(message.strip()) if words_of(s)]
    if len(sentences) < 2:
        return None
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return (asking or sentences)[-1]


# A sentence that only says who the user is or where they come from ("Hallo, ich komme aus der
# Schweiz.", "I'm a student from India."), folded: context, never what is asked.
INTRODUCTION = re.compile(
    r"^(?:(?:hallo|hello|hi|bonjour|salut|gruezi|guten tag|good morning)\s+)?"
    r"(?:je suis|je viens|j habite|i am|i m|im|i come|i live|ich bin|ich komme|ich wohne)\b"
)


# A question asking what something is ("Was ist KMØ?", "c'est quoi le Campus ?"), folded.
WHAT_IS = re.compile(
    r"^(?:was (?:ist|sind|isch)|what (?:is|are)|what s|whats|qu est ce que?|c est quoi|c koi"
    r"|cest quoi)\b|\b(?:c est|c) (?:quoi|koi)\b"
)


def introduced_what_is(message: str, asked: str) -> bool:
    """Whether a message asks what something is after sentences that only introduce the user
    ("Hallo, ich komme aus der Schweiz. Was ist KMØ?"): who they are does not change what
    the thing is ("Ich bin aus Basel. Darf ich zu KMØ?" is another matter)."""
    others = [s for s in SENTENCE_END.split(message.strip()) if words_of(s) and s != asked]
    return (
        bool(others)
        and bool(WHAT_IS.search(fold(asked)))
        and all(INTRODUCTION.match(fold(s)) for s in others)
    )


# A capitalised word inside a sentence ("en Bretagne", "in Occitanie").
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-Þ][\wÀ-ÿ]+")
# ...in a short question (its content words): in a longer one, names are mostly context
# ("I run a small shop in Thann, …").
NAMED_WORDS = 5
# Names that are context, not subject: where the user is from, or lives.
CONTEXT_NAMES = frozenset(
    "france alsace haut rhin bas strasbourg colmar mulhouse sundgau basel bale europe ich i".split()
)


# Where the user comes from ("a student from India", "ich komme aus Polen", "je viens du
# Portugal"), in folded text: a name of the user's, not of the subject asked.
COMING_FROM = re.compile(
    r"\b(?:from|aus|viens\s+d[eu]?|originaires?\s+d[eu]?|venant\s+d[eu]?)\s+"
    r"(?:the\s+|der\s+|dem\s+|la\s+|l\s+)?([a-z]\w+)"
)

# A question holding an off-topic word is still the programme's when an entry explains this
# share of it ("le salon a gagné combien de visiteurs ?" is; the 2018 World Cup is not).
OFF_TOPIC_ANSWER_EXPLAINED = 0.8
# Where users are, in the tokens of a question (`text.tokens`): the towns and the neighbour
# countries' shared tokens; not (Sud) Alsace, the programme's own territory.
PLACE_WORDS = CONTEXT_NAMES - {"ich", "i", "alsace", "haut", "rhin", "bas"} | {
    "qgermany",
    "qswitzerland",
}


# Endings a word takes in German (and English plurals): "Gemeindeverbänden", "Kommunen".
INFLECTIONS = ("n", "en", "s", "es", "e")


def inflected(synonyms: dict[str, str]) -> dict[str, str]:
    """The vocabulary with the inflected forms of its single words ("gemeindeverbaenden" for
    "gemeindeverbaende"); what staff wrote wins over a form worked out."""
    forms = dict(synonyms)
    for written, term in synonyms.items():
        if " " not in written and len(written) >= 5:
            for ending in INFLECTIONS:
                forms.setdefault(written + ending, term)
    return forms


# Words that open a question in the three languages (folded), beside the question words.
QUESTION_OPENERS = frozenset(
    "quoi koi qu quel quelle quels quelles kel qui ki quand ou comment combien pourquoi c est "
    "what whats who when where why how which is are does do can was wer wann wo wie warum "
    "welche welcher welches ist sind gibt kann".split()
)


def opens_a_question(text: str) -> bool:
    """Whether a text asks something itself ("c'est quoi KMØ", "who is inside?"), rather than
    name a subject ("la CCI membres du campus ?", the second of two names joined by "et")."""
    return not QUESTION_OPENERS.isdisjoint(words_of(text))


def continues(question: str) -> bool:
    """Whether a message opens by continuing the conversation ("et…", "und…", "what about…")."""
    opening = words_of(question)[:2]
    return bool(opening) and (opening[0] in CONTINUATIONS or " ".join(opening) in CONTINUATIONS)


def points_back(question: str) -> bool:
    """Whether a question opens by pointing back at what came before ("et pour les
    étudiants ?", "und für Studenten?", "what about it?")."""
    opening = words_of(question)[:3]
    for size in (2, 1):
        if " ".join(opening[:size]) in CONTINUATIONS:
            return len(opening) > size and opening[size] in POINTING_BACK
    return False


# In German, where every noun is capitalised: the name after a word that introduces one
# ("die Uni Konstanz", "die Firma Siemens").
_GERMAN_NAME = re.compile(
    r"\b(?:Uni|Universität|Universitaet|Hochschule|Stadt|Firma|Konzern|Gemeinde)\s+"
    r"([A-ZÄÖÜ][\wäöüß-]+)"
)


def names_in(text: str, lang: str) -> set[str]:
    """The names a question holds (in French and English capitalised words not opening a
    sentence; in German a word that a name-giving noun introduces), folded: a name the FAQ
    does not know is a subject it does not hold ("the territories in Occitanie" is not the list
    of 136, "der Campus der Uni Konstanz" is not Campus Industrie 4.0)."""
    found = set()
    for m in (_GERMAN_NAME if lang == "de" else _NAME).finditer(text.strip()):
        found.update(words_of(m[m.lastindex or 0]))
    return found


def explains_clearly_more(one: Candidate, other: Candidate) -> bool:
    """Whether `one` explains the whole question and `other` clearly not, or most of it and
    much more than `other`: what breaks a near tie between them."""
    return (one.explained >= 1.0 and other.explained < 1.0 - TIE_EXPLAINED_GAP) or (
        one.explained >= EXPLAINS_MOST and one.explained >= other.explained + EXPLAINS_MORE
    )


def classify(
    candidates: list[Candidate], thresholds: Thresholds, out_of_scope: bool = False
) -> tuple[str, list[Candidate]]:
    """answer (one entry), suggest (up to three) or escalate, from ranked candidates.

    `out_of_scope`: the question asks what the FAQ never holds (a price, opening hours, a
    deadline); the best entry is then only suggested, never given as the answer.
    """
    if not candidates or candidates[0].score < thresholds.suggest:
        return ESCALATE, []
    best = candidates[0]
    if (
        len(candidates) > 1
        and best.score - candidates[1].score < thresholds.tie_margin
        and explains_clearly_more(candidates[1], best)
    ):
        # as close, and only the runner-up explains the whole question ("quel genre de cours
        # à la Maison de l'Industrie ?": the kind asked is the training methods')
        candidates = [candidates[1], best, *candidates[2:]]
        best = candidates[0]
    # a near tie, unless the best explains the whole question and the other clearly not
    tie = (
        len(candidates) > 1
        and best.score - candidates[1].score < thresholds.tie_margin
        and not explains_clearly_more(best, candidates[1])
    )
    confident = best.score >= thresholds.answer and best.explained >= thresholds.min_explained
    if confident and not tie and not out_of_scope:
        return ANSWER, [best]
    close = [c for c in candidates if c.score >= thresholds.suggest]
    return SUGGEST, close[:MAX_SUGGESTIONS]


# Greetings, thanks, goodbyes, acknowledgements and calls for help: answered kindly, never
# matched against the FAQ, never offered to the team. The first kind found wins.
_SMALLTALK_CORE = {
    "help": frozenset("aide aidez help hilfe menu menue hilf".split()),
    "thanks": frozenset(
        "merci mersi mci mrc mrci thanks thank thx thanx thnx ty danke dank dankeschon "
        "cheers".split()
    ),
    "bye": frozenset(
        "revoir bye goodbye tschuss tschau ciao wiedersehen bald journee later dann ade "
        "adieu".split()
    ),
    "hello": frozenset(
        "bonjour salut bonsoir coucou hello hi hey hallo moin servus gruezi gruss guten "
        "morning evening afternoon greetings hiya".split()
    ),
    "ack": frozenset(
        "ok okay oki okk kk super cool parfait accord top genial nickel entendu compris "
        "marche bien klar prima passt gut toll perfekt verstanden alles great got perfect "
        "nice understood fine alright right thumbs dommage schade noted notiert note "
        "entendu compris worries souci soucis pis wow awesome excellent interesting interessant "
        "interessante interessantes verstehe klasse wunderbar formidable np".split()
    ),
}
# Phrases that are small talk as a whole, though their words alone are not ("I see" is
# not "see you"), folded, with the core word they stand for.
_SMALLTALK_PHRASES = {
    "i see": "understood",
    "je vois": "compris",
    "ach so": "verstanden",
    "good to know": "noted",
    "gut zu wissen": "notiert",
    "bon a savoir": "note",
    "c est note": "note",
    "too bad": "dommage",
    "see you": "bye",
    "a plus": "bye",
    "a plus tard": "bye",
    "a bientot": "bye",
    "have a nice day": "bye",
    "have a good day": "bye",
    "schonen tag": "tschuss",
    "schonen abend": "tschuss",
    "bonne soiree": "revoir",
    "how are you": "hello",
    "fair enough": "fine",
    "je vais voir": "ok",
    "je vais regarder": "ok",
    "on va voir": "ok",
    "ich schaue mal": "ok",
    "ich schau mal": "ok",
    "i ll have a look": "ok",
    "i will have a look": "ok",
    "i ll check": "ok",
    "ca va": "salut",
    "wie gehts": "hallo",
    "wie geht s": "hallo",
    "wie geht es": "hallo",
}
_SMALLTALK_PHRASE = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _SMALLTALK_PHRASES), key=len, reverse=True)) + r")\b"
)
_UMLAUT_SPELT = re.compile(r"([aou])e(?=[a-z])")
_SMALLTALK_FILLER = frozenset(
    "a au auf bis bonne tag good very much so a lot all there you everyone vielen herzlichen "
    "beaucoup bien toi vous le la les monsieur madame sehr zusammen euch ihnen to team it "
    "d ca c est ah oh je ich i me mir moi das that thats schon schoen sehr bcp quand meme "
    "vielmals vielmal trotzdem anyway tout tant pis too bad no worries problem probleme souci "
    "soucis gut see plus soon lieben liebe mal kein pas de pour for fur die the l info infos "
    "information informations antwort antworten answer answers reponse reponses votre your "
    "ihre deine dein noch hilfreich helpful useful utile utiles tres pls plz please svp stp "
    "bitte und et and".split()
)
_SMALLTALK_WORDS = _SMALLTALK_FILLER.union(*_SMALLTALK_CORE.values())

# What tells a subject's gap questions apart in the match index (entry ids never hold it).
GAP_PREFIX = "gap:"


def smalltalk_kind(text: str) -> str | None:
    """'help', 'thanks', 'bye', 'hello' or 'ack' when the text is nothing but that; else None."""
    folded = fold(text)
    if _SMALLTALK_PHRASE.search(folded):
        folded = _SMALLTALK_PHRASE.sub(lambda m: _SMALLTALK_PHRASES[m[0]], folded)
    # German written without umlauts: "tschuess", "fuer" are "tschüss", "für" ("gruezi" stays)
    ws = {
        w if w in _SMALLTALK_WORDS else _UMLAUT_SPELT.sub(lambda m: m[1], w) for w in folded.split()
    }
    if not ws or len(ws) > 6 or not ws <= _SMALLTALK_WORDS:
        return None
    kinds = [kind for kind, core in _SMALLTALK_CORE.items() if ws & core]
    if "thanks" in kinds:  # "danke für die Hilfe", "merci pour l'aide": thanks, not a call
        return "thanks"
    return kinds[0] if kinds else None


@dataclass(frozen=True)
class AnswerTells:
    """What an answer gives, for the follow-ups that ask it: a number, a date or a span, a
    day ("22 novembre"), a town or a site."""

    count: bool
    date: bool
    day: bool
    town: bool
    money: bool
    words: frozenset[str]  # its tokens: what "ce projet" after it may point back at


@dataclass(frozen=True)
class Decision:
    """What the engine decided for one question, and the text the user sees."""

    question: str
    status: str
    language: str
    faq_id: str | None
    score: float
    suggestions: tuple[Candidate, ...]
    candidates: tuple[Candidate, ...]
    text: str
    # SMALLTALK: which kind ('help' shows the topics); a follow-up: the entry it followed.
    kind: str | None = None
    follows: str | None = None
    # A compound question ("what is it and who is inside?"): the entry answering its second
    # half, offered as a button under the answer to the first; `both`: the two answers are
    # short and shown together; `also_text`: the other half is a gap, and this says so.
    also: str | None = None
    both: bool = False
    also_text: str | None = None

    def as_json(self, kb: KnowledgeBase) -> dict:
        return {
            "question": self.question,
            "status": self.status,
            "kind": self.kind,
            "follows": self.follows,
            "also": self.also,
            "both": self.both,
            "also_text": self.also_text,
            "faq_id": self.faq_id,
            "score": self.score,
            "language": self.language,
            "text": self.text,
            "suggestions": [
                {
                    "faq_id": c.faq_id,
                    "question": kb.entries[c.faq_id].title(self.language),
                    "score": c.score,
                }
                for c in self.suggestions
            ],
            # what Telegram shows as topic buttons under the reply ("Here are the topics:")
            "topics": [t.names[self.language] for t in kb.topics] if self.shows_topics else [],
        }

    @property
    def shows_topics(self) -> bool:
        """Whether the reply ends by showing the topics: off-topic, say more, help."""
        return self.status in (OFF_TOPIC, CLARIFY) or (
            self.status == SMALLTALK and self.kind == "help"
        )


@dataclass
class Engine:
    """A knowledge base ready to answer: its match index and language lexicon built once."""

    kb: KnowledgeBase
    thresholds: Thresholds = field(default_factory=Thresholds)
    settings: MatchSettings = field(default_factory=MatchSettings)
    # The entry given to a question without any content word.
    vague_entry: str = "assistant-about"

    def __post_init__(self) -> None:
        # Indexing allocates hundreds of thousands of containers and no reference cycle: the
        # cyclic collector, run again and again over them meanwhile, only costs time (a
        # quarter of the build at 10,000 entries). It resumes as it was.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build()
        finally:
            if collecting:
                gc.enable()

    def _build(self) -> None:
        # A subject's gap questions ("comment s'inscrire aux formations ?") are indexed as an
        # entry of their own, GAP_PREFIX + the subject's id: the closest, they make a gap.
        self._gap_of = {GAP_PREFIX + entry_id: entry_id for entry_id in self.kb.gaps}
        self._synonyms = inflected(self.kb.synonyms)
        self._synonyms_longest_first = sorted(self._synonyms, key=len, reverse=True)
        # Gap questions are written in users' words: read as users' questions are.
        self.index: MatchIndex = build_index(
            chain(
                ((e.id, lang, q) for e in self.kb for lang in LANGUAGES for q in e.questions[lang]),
                (
                    (GAP_PREFIX + entry_id, lang, as_asked(self.in_faq_words(q)))
                    for entry_id, by_language in self.kb.gaps.items()
                    for lang, questions in by_language.items()
                    for q in questions
                ),
            ),
            self.settings,
            counted_as=self._gap_of,
        )
        index = self.index
        # Words only gap questions use: the FAQ knows them as what it does not hold.
        self._gap_only_words: frozenset[str] = frozenset()
        if self._gap_of:
            entries_words = frozenset().union(
                *(
                    words
                    for words, faq_id in zip(index.variant_tokens, index.variant_entry, strict=True)
                    if faq_id not in self._gap_of
                )
            )
            self._gap_only_words = frozenset(index.idf) - entries_words
        self.lexicon = vocabulary_lexicon(
            {lang: index.language_words.get(lang, set()) for lang in LANGUAGES}
        )
        self._entry_words: dict[str, frozenset[str]] = {}
        self._tells: dict[tuple[str, str], AnswerTells] = {}
        self._asks_where: dict[str, bool] = {}
        self._variant_words: dict[str, frozenset[str]] = {}
        self._key_words: dict[str, str | None] = {}
        self._subject_words: dict[str, str | None] = {}
        self._around: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}
        vague = self.kb.entries.get(self.vague_entry)
        self._vague_variants = (
            [fold(q) for qs in vague.questions.values() for q in qs] if vague else []
        )

    def entry_words(self, faq_id: str) -> frozenset[str]:
        """Every content word of an entry, questions and answers (computed when first asked)."""
        if faq_id not in self._entry_words:
            entry = self.kb.entries[faq_id]
            texts = [*entry.answers.values(), *(q for qs in entry.questions.values() for q in qs)]
            self._entry_words[faq_id] = frozenset(tokens(" ".join(texts), self.index.stopwords))
        return self._entry_words[faq_id]

    def detect(self, question: str, default: str = "fr") -> LanguageGuess:
        return detect_language(question, default, self.lexicon)

    def decide(
        self,
        question: str,
        language: str | None = None,
        default_language: str = "fr",
        state: DialogueState | None = None,
    ) -> Decision:
        """Answer, suggest or escalate `question`; in `language` if forced, else its own.

        `state`: the conversation so far (`bot/answering/dialogue.py`, fresh); a short
        question that does not stand on its own ("et c'était quand ?") is read as being about
        the entry last shown, and answered from that entry's topic, or asked about. Two
        questions in one ("what is it and who is inside?") get one answer, and the other
        half's entry as `also`.
        """
        # A forced language (the user's choice, or the handler's own detection) spares one.
        lang = (
            language if language in LANGUAGES else self.detect(question, default_language).language
        )
        decision = self._decide(question, lang, state)
        if state and state.status == CLARIFY and state.pending and decision.status != SMALLTALK:
            # Asked to say more, the user did: the two messages are one question ("et pour les
            # étudiants ?", "pour KMØ je veux dire").
            said_more = self._decide(f"{state.pending} {question}", lang, None)
            if said_more.status in (ANSWER, GAP):
                return replace(said_more, question=question)
        # "Hi, I'm an MBA student… The article says… how many acceleration centres?": the
        # user's own context may be off the programme, not what they ask
        retried = (SUGGEST, ESCALATE, ANSWER, OFF_TOPIC)
        asked = asked_sentence(question) if decision.status in retried else None
        if asked is not None:
            # the message's own first sentences are the context of its asking one ("Gibt es
            # ein trinationales Forschungsinstitut? Zu welchen Themen?")
            context = state
            if decision.status == ANSWER:
                topic = self.kb.entries[decision.faq_id].topic
                context = DialogueState(lang, (decision.faq_id,), topic, ANSWER)
            alone = self._decide(asked, lang, context)
            # unsure, or sure of another entry with more confidence ("Hallo, ich studiere in
            # Freiburg. Was ist KMØ?" is not the cross-border entry): the sentence that asks
            if alone.status in (ANSWER, GAP) and (
                decision.status != ANSWER
                or (alone.status == ANSWER and alone.score > decision.score)
                # "Hallo, ich komme aus der Schweiz. Was ist KMØ?": what KMØ is, not whether
                # the Swiss may come
                or (alone.status == ANSWER and introduced_what_is(question, asked))
            ):
                return replace(alone, question=question)
        if decision.status == SMALLTALK or not COMPOUND.search(question):
            return decision
        halves = self.compound(question, lang, state)
        if halves is None:
            return decision
        first, second = halves
        split = COMPOUND.search(question)
        asked_twice = opens_a_question(question[: split.start()]) and opens_a_question(
            question[split.end() :]
        )
        if GAP in (first.status, second.status) and not asked_twice:
            # "la source des chiffres 30 % et 48 % ?": one question about two things
            return decision
        if first.status == GAP and second.status == GAP:
            # "When is the next Be 4.0 and how much are tickets?": neither half is in the FAQ
            return decision if decision.status == ANSWER else replace(first, question=question)
        if GAP in (first.status, second.status):
            # "combien de visiteurs au salon et combien coûte l'entrée ?": the half the FAQ
            # answers, and what it says of the other
            answered, missing = (first, second) if first.status == ANSWER else (second, first)
            if decision.status == ANSWER and decision.faq_id != answered.faq_id:
                return decision
            if self.kb.entries[missing.faq_id].topic != self.kb.entries[answered.faq_id].topic:
                # a gap on another subject than the one answered, which the question does not
                # name: not what was asked
                half = tokens(self.in_faq_words(missing.question), self.index.stopwords)
                if not self.names(half, missing.faq_id):
                    return replace(answered, question=question)
            other = missing.faq_id if missing.faq_id != answered.faq_id else None
            text = f"{answered.text}\n\n{missing.text}"
            return replace(
                answered, question=question, text=text, also=other, also_text=missing.text
            )
        if decision.status == ANSWER and decision.faq_id not in (first.faq_id, second.faq_id):
            return decision
        short = all(len(self.kb.entries[d.faq_id].answers[lang]) <= SHORT_ANSWER for d in halves)
        if short and asked_twice:
            # two questions ("c'est quoi KMØ et c'est pour qui ?"), not two names in one ("Are
            # UHA and the CCI members?"), with short answers: both, in the order asked
            text = f"{first.text}\n\n{second.text}"
            return replace(first, question=question, text=text, also=second.faq_id, both=True)
        if decision.status != ANSWER:
            return replace(first, question=question, also=second.faq_id)
        # The whole question has its answer; the other half is offered with it.
        other = second if decision.faq_id == first.faq_id else first
        return replace(decision, also=other.faq_id)

    def _decide(self, question: str, lang: str, state: DialogueState | None) -> Decision:
        """`decide` in a known language, compound questions aside."""
        kind = smalltalk_kind(question)
        if kind:
            text = smalltalk_text(kind, lang)
            return Decision(question, SMALLTALK, lang, None, 0.0, (), (), text, kind=kind)
        if ARITHMETIC.search(question.lower()):
            # "combien font 17 fois 23 ?", "what's 2+2?": a sum, not the programme
            return off_topic(question, lang)
        # once: matching and the rules share it; what users write as the FAQ says it, without
        # how long the user has been something ("au chômage depuis six mois": not a month asked)
        folded = as_asked(self.in_faq_words(question))
        words = tokens(folded, self.index.stopwords)
        content = set(words) - set(QUESTION_WORDS.values())
        if state is not None and state.entries and CORRECTION.search(folded):
            # "non, je voulais dire les 4 besoins" after the Campus's 4 domains: a new subject,
            # not a follow-up of the last one (its "4" would lead back to the domains)
            state = replace(state, entries=(), topic=None)
        # the entry last shown; suggestions are not a subject: the user picked none of them
        # ("und wo?" after "did you mean: m2A, …?" is not where m2A is)
        shown = state is not None and state.status != SUGGEST
        subject = state.entries[0] if shown and state.entries else None
        if subject not in self.kb.entries:
            subject = None
        if (
            subject is not None
            and len(content) <= FOLLOW_UP_WORDS
            and (pointed := self.pointed_at(folded, subject, lang))
        ):
            # "il fait quoi ce projet ?" after 4iTec, whose answer names its first project:
            # "projet" points back, like "it", and leads to no other entry's project
            words = [w for w in words if w not in pointed]
            content -= pointed
        if subject is None and len(content) <= 1 and points_back(question):
            # "et pour les étudiants ?" with nothing before: for students, in what?
            return clarify(question, lang)
        vague = not content and self.is_vague_question(question)
        if vague and (subject is None or ADDRESSED.intersection(words_of(question))):
            # "what can you do?", "tu sers à quoi ?": what the assistant knows ("who is it
            # for?" after an answer is about that answer: a follow-up, below).
            return self.about_the_assistant(question, lang)
        if not content and set(words_of(question)) <= BARE_CONTINUATIONS:
            # "et ?", "und?", "and then?": nothing asked, with or without a subject
            return clarify(question, lang)
        if not content and subject is None:
            # "et c'était quand ?", "non", "et ça ?" with nothing before: say more.
            return clarify(question, lang)
        if any(is_cue(w, OFF_TOPIC_CUES) for w in content) or self.only_places_and_unknown(
            content, words
        ):
            # where the user is does not make a psychology degree in Freiburg about KMØ's
            # cross-border welcome: only the other words may make it the programme's
            topical = self.match([w for w in words if w not in PLACE_WORDS])
            # "how much does it cost to rent an office at KMØ?": a request the FAQ never
            # holds about one of its subjects is a gap, not off-topic. The subject is in the
            # other words: "Wetter am Wochenende" meets "is KMØ open at the weekend" on its
            # request alone.
            subject_words = [w for w in words if w in content and not self.asks_only(w)]
            named = self.match(subject_words) if subject_words else []
            about_a_subject = asks_out_of_scope(self.index, words) and bool(
                named
                and named[0].score >= self.thresholds.suggest
                and named[0].explained >= self.thresholds.min_explained
                and self.names(subject_words, named[0].faq_id)
            )
            if not about_a_subject and (
                not topical
                or classify(topical, self.thresholds)[0] != ANSWER
                or topical[0].explained < OFF_TOPIC_ANSWER_EXPLAINED
            ):
                return off_topic(question, lang, self.entries_only(topical))
        # a question mark, a question word or a continuation ("et pour…"): something asked
        asks_words = (
            continues(question)
            or question.rstrip().endswith("?")
            or any(w in QUESTION_WORD_TOKENS for w in words)
        )
        asks = bool(content) or asks_words
        if not asks:  # "non", "hmm": nothing to answer, with or without a subject
            return clarify(question, lang)
        if subject is not None and content == {"lister"}:
            # "lesquelles ?" after the 11 intercommunalités: the list, if the answer gives it
            entry = self.kb.entries[subject]
            if not enumerates(entry.answers[lang]):
                return self.gap_on_subject(question, lang, subject, [])
            return answer(question, lang, entry, follows=subject)
        counted = subject is not None and "qcount" in words and len(content) <= 1
        if counted and self.tells_a_count(subject, lang) and content <= self.entry_words(subject):
            # "how many exactly?" after the job losses: the number just shown
            return answer(question, lang, self.kb.entries[subject], follows=subject)
        dated = self.dated_entry(words, subject, lang) if subject is not None else None
        if dated is not None:
            # "over what period?" after the job losses: the answer just shown holds its dates;
            # "wann wurde es eröffnet?" after who KMØ is for: its topic's entry that does
            if self.day_not_told(question, dated, lang):
                return self.gap_on_subject(question, lang, dated, [])
            return answer(question, lang, self.kb.entries[dated], follows=subject)
        if subject is not None and not words:
            # "what for?", "wozu?", "where will they be?": nothing but words that ask, about
            # the entry just shown; a place it does not name is a gap, not another entry
            entry = self.kb.entries[subject]
            if WHERE_IN_QUESTION.search(fold(question)):
                # "il est où ?" after who KMØ is for: its topic's entry whose answer names the
                # town (not `tells_where`: an entry's own "where" questions would let any of
                # the topic's entries answer a bare "where?")
                placed = [
                    e
                    for e in (entry, *self.kb.entries.values())
                    if (e is entry or e.topic == entry.topic)
                    and self._answer_tells(e.id, lang).town
                ]
                if not placed:
                    return self.gap_on_subject(question, lang, subject, [])
                entry = placed[0]
            return answer(question, lang, entry, follows=subject)
        # after an answer, words the FAQ knows none of, not even as a request ("asdfgh",
        # "timbres"); worked out for follow-ups only
        unknown_only = (
            subject is not None
            and bool(content)
            and all(not self.index.neighbours(w) for w in content)
            and not asks_out_of_scope(self.index, list(content))
        )
        if unknown_only and len(words_of(question)) <= 2 and not asks_words and "?" not in question:
            # "asdfgh", "blabla truc" after KMØ: nothing known, nothing asked; not the answer
            # just shown once more
            return clarify(question, lang)
        if subject is not None and len(content) <= FOLLOW_UP_WORDS and not unknown_only:
            # (a question in words the FAQ does not know at all is not its subject's either:
            # "Où acheter des timbres ?" after KMØ is not KMØ's answer)
            follow_up = self.follow_up(question, words, lang, subject, standalone=bool(content))
            if (
                counted
                and not self.tells_a_count(subject, lang)
                and (
                    follow_up is None
                    or follow_up.status != ANSWER
                    or not self.tells_a_count(follow_up.faq_id, lang)
                )
            ):
                # "Wie viele Firmen genau?" after the Campus's members, named but not counted,
                # and no entry it leads to counts them: a number the FAQ does not give
                candidates = list(follow_up.candidates) if follow_up else []
                return self.gap_on_subject(question, lang, subject, candidates)
            if follow_up is not None:
                return follow_up
        if vague:
            return self.about_the_assistant(question, lang)
        if not content:
            # "how much is it?" that its subject does not answer: "how much" alone must not
            # be answered with the 136 territories
            return clarify(question, lang)
        decision = self._decide_words(question, words, lang)
        if subject is not None and self.misread_as_about_me(decision, subject, question):
            return self.gap_on_subject(question, lang, subject, [])
        named = self.named_beside_me(decision, words, question)
        if named is not None:
            # "Spricht im KM0 jemand deutsch?" meets "do you speak German?": asked of KMØ
            return gap(question, lang, self.kb.entries[named.faq_id], named, named.score, [named])
        return decision

    def assistant_topic(self) -> str | None:
        """The topic of the assistant's own entries; None in a knowledge base without them."""
        about_me = self.kb.entries.get(self.vague_entry)
        return about_me.topic if about_me else None

    def misread_as_about_me(self, decision: Decision, subject: str, question: str) -> bool:
        """Whether an answer about this assistant follows another subject's entry and the
        question points back at that subject, not at the assistant: "do they speak english
        there?" after KMØ asks of KMØ, not of the assistant's languages ("do you…?" would;
        "d'où viennent les informations ?" asks of the assistant whatever came before)."""
        mine = self.assistant_topic()
        said = set(words_of(question))
        return (
            mine is not None
            and decision.status == ANSWER
            and self.entry_of(decision.faq_id).topic == mine != self.kb.entries[subject].topic
            and bool(THERE_THEY & said)
            and not ADDRESSED & said
        )

    def named_beside_me(
        self, decision: Decision, words: list[str], question: str
    ) -> Candidate | None:
        """For an answer about this assistant to a question that does not address it and names
        another subject by the words the assistant's entry does not hold: that subject's entry
        (what the question asks of it, the assistant's entry does not say); else None."""
        mine = self.assistant_topic()
        if (
            mine is None
            or decision.status != ANSWER
            or self.entry_of(decision.faq_id).topic != mine
            or ADDRESSED.intersection(words_of(question))
        ):
            return None
        held = self.variant_words(decision.faq_id)
        rest = [w for w in words if w not in held]
        best = self.entries_only(self.match(rest)) if rest else []
        if (
            best
            and best[0].score >= self.thresholds.suggest
            and self.entry_of(best[0].faq_id).topic != mine
            and self.names(rest, best[0].faq_id)
        ):
            return best[0]
        return None

    def compound(
        self, question: str, lang: str, state: DialogueState | None
    ) -> tuple[Decision, Decision] | None:
        """The decisions of a compound question's two halves ("what is Campus Industrie 4.0"
        and "who is inside?", read as its follow-up), when each is answered or a gap, and they
        are not one answer twice; None otherwise."""
        match_ = COMPOUND.search(question)
        if match_ is None:
            return None
        first, second = question[: match_.start()], question[match_.end() :]
        if not words_of(first) or not words_of(second):
            return None
        left = self._decide(first, lang, state)
        if left.status not in (ANSWER, GAP) or left.faq_id is None:
            return None
        topic = self.kb.entries[left.faq_id].topic
        after_left = DialogueState(lang, (left.faq_id,), topic, left.status, 1.0)
        right = self._decide(second, lang, after_left)
        if right.status not in (ANSWER, GAP) or right.faq_id is None:
            return None
        if right.status == left.status == ANSWER and right.faq_id == left.faq_id:
            return None
        return left, right

    def asks_only(self, word: str) -> bool:
        """Whether a question word says only what is asked or where, not about what: a place,
        a journey, a request the FAQ never holds, an off-topic subject."""
        return (
            word in PLACE_WORDS
            or word in TRAVEL_WORDS
            or is_cue(word, self.index.out_of_scope)
            or is_cue(word, OFF_TOPIC_CUES)
        )

    def lists_what_is_asked(self, words: list[str], best: Candidate, lang: str) -> bool:
        """Whether a list is all the question asks beyond its subject ("lister" its only
        request word) and the best entry's answer gives one."""
        requests = {w for w in words if is_cue(w, self.index.out_of_scope)}
        return requests == {"lister"} and enumerates(self.kb.entries[best.faq_id].answers[lang])

    def only_places_and_unknown(self, content: set[str], words: list[str]) -> bool:
        """Whether a question names a place and otherwise only words the FAQ does not know, or
        knows from gap questions only ("il va faire beau à Mulhouse ce week-end ?"): nothing in
        it points at an entry, the place is where the user is. Unknown words alone are not
        enough: the FAQ may lack the words, not the subject; nor is a request the FAQ never
        holds ("horaires Mulhouse")."""
        places = content & PLACE_WORDS
        if places and content & TRAVEL_WORDS:
            # getting from place to place ("le prochain TER Mulhouse-Colmar part quand ?"):
            # off-topic unless the other words name a subject ("KMØ en tram ?", a gap)
            return True
        rest = content - places
        return (
            bool(places)
            and bool(rest)
            and not any(
                n not in self._gap_only_words for w in rest for n, _ in self.index.neighbours(w)
            )
            and not asks_out_of_scope(self.index, words)
        )

    def match(
        self,
        words: list[str],
        limit: int = MAX_SUGGESTIONS + 2,
        within: frozenset[str] | None = None,
    ) -> list[Candidate]:
        """`matcher.match` on this knowledge base: entries and gap questions, best first. An
        entry and its own gap questions are one subject: only the closer of the two is kept,
        so that they never make a near tie between themselves; the gap question when it is
        as close and explains clearly more of the question."""
        found = match(self.index, words, limit=limit + 2 if self._gap_of else limit, within=within)
        if not self._gap_of:
            return found
        first: dict[str, int] = {}
        kept: list[Candidate] = []
        for c in found:
            subject = self._gap_of.get(c.faq_id, c.faq_id)
            if subject not in first:
                first[subject] = len(kept)
                kept.append(c)
                continue
            shown = kept[first[subject]]
            if (
                c.faq_id in self._gap_of
                and shown.faq_id not in self._gap_of
                and c.score >= shown.score - self.thresholds.tie_margin
                and explains_clearly_more(c, shown)
            ):
                # "How much of the 1.3 billion goes to South Alsace?": as close to the
                # budget's gap question as to its entry, and wholly explained only there
                kept[first[subject]] = replace(c, score=shown.score)
        return kept

    def holds_only_its_entry_s_words(self, entry_id: str, question: str) -> bool:
        """Whether a gap question's content words are all in its entry's own questions ("le
        centre d'excellence existe aujourd'hui ?": "existe" and "aujourd'hui" are stop words),
        so that it would take "c'est quoi le centre d'excellence ?" from the entry."""
        words = set(tokens(self.in_faq_words(question), self.index.stopwords))
        return bool(words) and words <= self.variant_words(entry_id)

    def only_numbers_shared(self, words: list[str], faq_id: str) -> bool:
        """Whether an entry's questions share no word with the question but its numbers."""
        held = self.variant_words(faq_id)
        shared = [w for w in words if self.meets(w, held)]
        return bool(shared) and all(w.isdigit() for w in shared)

    def named_subject(self, words: list[str], found: Candidate) -> Entry | None:
        """For a gap found on the assistant's own contact ("your phone number?") in a question
        that names another subject ("le numéro de la Maison de l'Industrie"): that subject,
        which the words other than the request name with confidence; else None."""
        if self.entry_of(found.faq_id).topic != self.assistant_topic():
            return None
        named = [w for w in words if not is_cue(w, self.index.out_of_scope)]
        if not named or len(named) == len(words):
            return None
        best = self.entries_only(self.match(named))
        if (
            best
            and best[0].score >= self.thresholds.answer
            and best[0].explained >= self.thresholds.min_explained
            and self.kb.entries[best[0].faq_id].topic != self.entry_of(found.faq_id).topic
        ):
            return self.kb.entries[best[0].faq_id]
        return None

    def entry_of(self, faq_id: str) -> Entry:
        """The entry of a match's id: the entry itself, or the subject of gap questions."""
        return self.kb.entries[self._gap_of.get(faq_id, faq_id)]

    def entries_only(self, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates that are entries (a decision shows and stores only those)."""
        if not self._gap_of:
            return candidates
        return [c for c in candidates if c.faq_id not in self._gap_of]

    def in_faq_words(self, question: str) -> str:
        """The question with the words users write replaced by the FAQ's own (the vocabulary
        of `faq/vocabulary.yaml`: "Technologiezentrum" -> "centre technologique"), folded."""
        if not self._synonyms:
            return question
        folded = " " + " ".join(fold(question).split()) + " "
        for written in self._synonyms_longest_first:
            if f" {written} " in folded:
                folded = folded.replace(f" {written} ", f" {self._synonyms[written]} ")
        return folded.strip()

    def subject_word(self, topic_id: str) -> str | None:
        """The word of a topic's name that its entries' variants use most ("kmo" for "KMØ, la
        cité du numérique"): what a follow-up leaves out and means."""
        if topic_id not in self._subject_words:
            topic = self.kb.topic(topic_id)
            names = " ".join(topic.names.values()) if topic else ""
            index = self.index
            best, best_key = None, (0, 0.0)
            for word in dict.fromkeys(tokens(names, index.stopwords)):
                in_topic = sum(
                    1
                    for v in index.postings.get(word, ())
                    if self.entry_of(index.variant_entry[v]).topic == topic_id
                )
                key = (in_topic, index.idf.get(word, 0.0))
                if in_topic and key > best_key:
                    best, best_key = word, key
            self._subject_words[topic_id] = best
        return self._subject_words[topic_id]

    def variant_words(self, faq_id: str) -> frozenset[str]:
        """The tokens of an entry's question variants, all languages (worked out once)."""
        found = self._variant_words.get(faq_id)
        if found is None:
            entry = self.kb.entries[faq_id]
            texts = " ".join(q for qs in entry.questions.values() for q in qs)
            found = self._variant_words[faq_id] = frozenset(tokens(texts, self.index.stopwords))
        return found

    def names(self, words: list[str], faq_id: str) -> bool:
        """Whether a question names the subject of an entry (or of its gap questions): its
        rarest word, or its topic's word."""
        entry = self.entry_of(faq_id)
        named = {self.key_word(entry.id), self.subject_word(entry.topic)} - {None}
        return any(self.meets(w, named) for w in words)

    def meets(self, word: str, held: Set[str]) -> bool:
        """Whether a question word is in `held`, as it is or as one of its vocabulary
        neighbours (a typo, an inflection)."""
        return word in held or any(near in held for near, _ in self.index.neighbours(word))

    def key_word(self, faq_id: str) -> str | None:
        """The rarest word of an entry's title ("4itec" for "Qu'est-ce que 4iTec 4.0 ?"), worked
        out once."""
        if faq_id not in self._key_words:
            title = tokens(self.kb.entries[faq_id].title(LANGUAGES[0]), self.index.stopwords)
            known = [w for w in title if w in self.index.idf]
            self._key_words[faq_id] = max(known, key=self.index.idf.__getitem__) if known else None
        return self._key_words[faq_id]

    def dated_entry(self, words: list[str], subject: str, lang: str) -> str | None:
        """For a message that asks only when (or how long, or when something began): the
        subject when its answer tells it (a date or a span besides its "as of March 2019"),
        else the one entry of the subject's topic whose answer does; None otherwise."""
        if not words or not set(words) <= TIME_ASKED or not TIME_WORDS.intersection(words):
            return None
        if self.tells_a_date(subject, lang):
            return subject
        topic = self.kb.topic(self.kb.entries[subject].topic)
        dated = [e for e in (topic.entry_ids if topic else ()) if self.tells_a_date(e, lang)]
        return dated[0] if len(dated) == 1 else None

    def tells_where(self, faq_id: str, lang: str) -> bool:
        """Whether an entry answers "where?": its answer names a town or a site, or its own
        questions ask where ("Where can I follow the programme on LinkedIn?")."""
        if self._answer_tells(faq_id, lang).town:
            return True
        if faq_id not in self._asks_where:
            entry = self.kb.entries[faq_id]
            self._asks_where[faq_id] = any(
                WHERE_IN_QUESTION.search(fold(q)) for qs in entry.questions.values() for q in qs
            )
        return self._asks_where[faq_id]

    def day_not_told(self, question: str, faq_id: str, lang: str) -> bool:
        """Whether the question asks the exact day and the entry's answer gives none."""
        return bool(EXACT_DAY.search(fold(question))) and not self._answer_tells(faq_id, lang).day

    def owner_of_a_name(self, question: str, words: list[str], lang: str) -> Candidate | None:
        """The candidate that is the only entry whose questions hold a name the question
        gives (a company, a person), and whose answer no other candidate's shares: the name
        decides, the other words do not."""
        owners = {}
        for name in sorted(names_in(question, lang) & set(words)):  # whatever the hash seed
            held = {e for e in self.index.holders(name)[1] if e not in self._gap_of}
            if len(held) == 1:
                owners[name] = held.pop()
        if not owners:
            return None
        # an entry's gap questions stand for it here: "SEB" is 4iTec's whichever is closer
        pool = [
            replace(c, faq_id=self._gap_of.get(c.faq_id, c.faq_id))
            for c in self.match(words, limit=NAME_POOL)
        ]
        for name, only in owners.items():
            found = next((c for c in pool if c.faq_id == only), None)
            if found is not None and not any(
                name in self.entry_words(c.faq_id) for c in pool if c.faq_id != only
            ):
                return found
        return None

    def pointed_at(self, folded: str, subject: str, lang: str) -> set[str]:
        """The nouns a question points at with a demonstrative ("ce projet") that the answer
        just shown holds: the thing it is about, not a subject of its own."""
        nouns = {
            t
            for noun in DEMONSTRATIVE.findall(folded)
            if (t := token_of(noun, self.index.stopwords))
        }
        return nouns & self._answer_tells(subject, lang).words if nouns else set()

    def count_not_told(self, words: list[str], faq_id: str, lang: str) -> bool:
        """Whether the question asks how many and the entry's answer gives no number ("how
        many companies are in the Campus?": its members are named, not counted)."""
        return (
            "qcount" in words
            and not TIME_WORDS.intersection(words)
            and not self.tells_a_count(faq_id, lang)
        )

    def not_told(self, words: list[str], faq_id: str, lang: str) -> bool:
        """Whether the question asks how many or what sum and the entry's answer gives none."""
        return self.count_not_told(words, faq_id, lang) or self.amount_not_told(words, faq_id)

    def amount_not_told(self, words: list[str], faq_id: str) -> bool:
        """Whether the question asks an amount of money and the entry's answer, in every
        language, gives none ("the yearly budget of the Campus": the Campus has no figure)."""
        asked = not AMOUNT_ASKED.isdisjoint(words) or (
            "qcount" in words and not MONEY_WORDS.isdisjoint(words)
        )
        return asked and not any(
            self._answer_tells(faq_id, lang).money for lang in self.kb.entries[faq_id].answers
        )

    def tells_a_count(self, faq_id: str, lang: str) -> bool:
        """Whether an entry's answer gives a number that is not a year ("136", "48 %")."""
        return self._answer_tells(faq_id, lang).count

    def tells_a_date(self, faq_id: str, lang: str) -> bool:
        """Whether an entry's answer gives a date or a span besides its "as of March 2019"."""
        return self._answer_tells(faq_id, lang).date

    def _answer_tells(self, faq_id: str, lang: str) -> AnswerTells:
        """What an entry's answer tells, worked out once per entry and language (follow-ups
        ask it of a whole topic, every answered question of its entry)."""
        key = (faq_id, lang)
        if key not in self._tells:
            text = fold(self.kb.entries[faq_id].answers[lang])
            self._tells[key] = AnswerTells(
                count=bool(COUNT_IN_ANSWER.search(NAMED_FOUR_POINT_O.sub(" ", text))),
                date=bool(TIME_IN_ANSWER.search(AS_OF.sub(" ", text))),
                day=bool(DAY_DATE.search(text)),
                town=bool(TOWNS.search(text)),
                money=bool(MONEY_IN_ANSWER.search(text)),
                words=frozenset(folded_tokens(text, self.index.stopwords)),
            )
        return self._tells[key]

    def is_vague_question(self, question: str) -> bool:
        """Whether a question without content words asks what the assistant is ("what can you
        do?"): close to one of the vague entry's own variants."""
        if not self._vague_variants:
            return False
        best = process.extractOne(fold(question), self._vague_variants, scorer=fuzz.ratio)
        return best is not None and best[1] >= VAGUE_SIMILARITY

    def follow_up(
        self,
        question: str,
        words: list[str],
        lang: str,
        subject: str,
        *,
        standalone: bool,
    ) -> Decision | None:
        """A short question read with the subject of the entry last shown: its topic's
        `subject_word` joins the question's words, and only that topic's entries, and the
        entries the subject names as `related` (what is asked next), may answer.
        None when the question, alone, is answered elsewhere with clearly more confidence
        ("et le Sud Alsace, il est dedans ?" after the 136 territories), or is answered alone
        and not in the topic; `standalone` False: nothing but question words, it is never
        answered alone."""
        alone = self.match(words) if standalone else []
        if alone and alone[0].faq_id in self._gap_of and not self.names(words, alone[0].faq_id):
            # "when did it start?" after 4iTec meets "when do the next FORMLAB sessions
            # start?", a gap question of FORMLAB; but it does not name FORMLAB
            alone = []
        alone_status = classify(alone, self.thresholds, asks_out_of_scope(self.index, words))[0]
        topic_id = self.kb.entries[subject].topic
        topic = self.kb.topic(topic_id)
        subject_word = self.subject_word(topic_id)
        if subject_word not in self.variant_words(subject):
            # "et le 1er projet ?" after 4iTec: the research topic's word ("centre") would
            # lead to the Centre Technologique; the entry's own rarest word leads back to it
            subject_word = self.key_word(subject) or subject_word
        joined = [*words, subject_word] if subject_word else list(words)
        in_topic = self.match(joined, limit=2 * MAX_SUGGESTIONS + 4, within=self.around(subject))
        decision = self._decide_words(question, joined, lang, in_topic)
        asked = [w for w in words if w not in QUESTION_WORD_TOKENS]
        if (
            decision.status == GAP
            and asked
            and all(is_cue(w, self.index.out_of_scope) for w in asked)
        ):
            # "wo genau ist das?", "how much is it?": nothing but the request, so it is made of
            # the subject just shown, not of another entry of its topic
            decision = self.gap_on_subject(question, lang, subject, in_topic)
        if self.misread_as_about_me(decision, subject, question):
            return self.gap_on_subject(question, lang, subject, in_topic)
        if decision.status in (ANSWER, GAP):
            # "ça ouvre quand ?" after FORMLAB is about the training topic, even though "KMØ
            # ouvre quand ?" matches it too: the subject wins unless the question alone is
            # clearly better answered elsewhere.
            if (
                alone_status != ANSWER
                or decision.faq_id == alone[0].faq_id
                or (
                    self.entry_of(alone[0].faq_id).topic != topic_id
                    and not self.names(words, alone[0].faq_id)
                )
            ):
                # "what topics?" after the trinational institute meets the Campus's domains
                # on "topics" alone: a question that does not name another subject stays
                return replace(decision, follows=subject)
            margin = CONTINUATION_MARGIN if continues(question) else FOLLOW_UP_MARGIN
            if in_topic[0].score >= alone[0].score - margin:
                return replace(decision, follows=subject)
            return None
        if alone_status == ANSWER:
            return None
        if (
            alone_status == SUGGEST
            and alone
            and alone[0].faq_id not in self._gap_of  # a request alone names no subject
            and self.entry_of(alone[0].faq_id).topic != topic_id
            and alone[0].explained >= self.thresholds.min_explained
            and (not in_topic or alone[0].explained > in_topic[0].explained)
        ):
            # "who can go to the KMØ place?" after the Campus: another subject named, more of
            # the question explained there; not asked of the Campus
            return None
        if asks_out_of_scope(self.index, words):
            # "comment je m'inscris ?" after an answer: what the FAQ never holds, about the
            # subject just shown.
            return self.gap_on_subject(question, lang, subject, in_topic)
        in_topic = self.entries_only(in_topic)
        # "sur combien de temps ?" after the job losses: asked about the entry just shown.
        if (
            in_topic
            and in_topic[0].faq_id == subject
            and in_topic[0].score >= self.thresholds.suggest
            and in_topic[0].explained >= self.thresholds.min_explained
        ):
            entry = self.kb.entries[subject]
            return answer(question, lang, entry, in_topic[0].score, in_topic, follows=subject)
        entries = [c for c in in_topic if c.faq_id != subject][:MAX_SUGGESTIONS] or in_topic[:1]
        if not entries:
            return None
        name = topic.names[lang] if topic else self.kb.entries[subject].title(lang)
        return Decision(
            question,
            SUGGEST,
            lang,
            None,
            entries[0].score,
            tuple(entries),
            tuple(in_topic),
            self.suggestion_text(entries, lang, about=name),
            follows=subject,
        )

    def around(self, subject: str) -> frozenset[str]:
        """The ids a follow-up of `subject` is matched within: its topic's entries and the
        entries it names as `related`, with their gap questions (worked out once)."""
        entry = self.kb.entries[subject]
        key = (entry.topic, entry.related)
        # one set per topic and `related` list, not per entry: a 10,000-entry FAQ's entries
        # mostly share their topic's
        found = self._around.get(key)
        if found is None:
            ids = {e.id for e in self.kb if e.topic == entry.topic} | set(entry.related)
            found = self._around[key] = frozenset(
                ids | {gap_id for gap_id, of in self._gap_of.items() if of in ids}
            )
        return found

    def about_the_assistant(self, question: str, lang: str) -> Decision:
        return answer(question, lang, self.kb.entries[self.vague_entry])

    def gap_on_subject(
        self, question: str, lang: str, subject: str, candidates: list[Candidate]
    ) -> Decision:
        """The gap reply on the entry just shown, for a follow-up it does not answer."""
        entry = self.kb.entries[subject]
        offered = Candidate(subject, 0.0, entry.title(lang), lang)
        return gap(question, lang, entry, offered, 0.0, self.entries_only(candidates), subject)

    def _decide_words(
        self,
        question: str,
        words: list[str],
        lang: str,
        candidates: list[Candidate] | None = None,
    ) -> Decision:
        """The decision on a question's tokens (or on given candidates, from `match`)."""
        if candidates is None:
            candidates = self.match(words)
        if candidates and candidates[0].faq_id in self._gap_of:
            best = candidates[0]
            gaps_tie = (
                len(candidates) > 1
                and candidates[1].faq_id in self._gap_of
                and best.score >= self.thresholds.answer
                and best.explained >= self.thresholds.min_explained
            )
            # "how many jobs has the programme created?": two subjects' gap questions ahead
            # of every entry, near each other; a gap either way, never the entry behind them
            if gaps_tie or classify(candidates, self.thresholds)[0] == ANSWER:
                # What the FAQ is known not to hold about a subject: a gap on that subject.
                entry = self.named_subject(words, candidates[0]) or self.entry_of(
                    candidates[0].faq_id
                )
                real = self.entries_only(candidates)
                offered = [c for c in real if c.faq_id == entry.id] or [
                    replace(candidates[0], faq_id=entry.id)
                ]
                return gap(question, lang, entry, offered[0], candidates[0].score, real)
        candidates = self.entries_only(candidates)
        if (
            len(candidates) > 1
            and candidates[0].score - candidates[1].score < self.thresholds.tie_margin
            and self.not_told(words, candidates[0].faq_id, lang)
            and not self.not_told(words, candidates[1].faq_id, lang)
        ):
            # "Wie viel Geld steckt der Staat in das Industrieprogramm?": of two entries
            # as close, the one whose answer gives a sum; the other does not answer it
            candidates = candidates[1:]
        asking = ASKED_WORDS.intersection(words)
        if asking and len(candidates) > 1 and not asking & self.variant_words(candidates[0].faq_id):
            # "le label, vous l'avez eu quand ?" meets "what is the label?" on the label: an
            # entry asked when it was got, close behind, holds the question asked
            runner = next(
                (
                    c
                    for c in candidates[1:4]
                    if c.score >= self.thresholds.answer
                    and c.score >= candidates[0].score - ASKED_WORD_MARGIN
                    and c.explained > candidates[0].explained
                    and asking <= self.variant_words(c.faq_id)
                ),
                None,
            )
            if runner is not None:
                candidates = [runner, *(c for c in candidates[1:] if c is not runner)]
        out_of_scope = asks_out_of_scope(self.index, words)
        if out_of_scope and candidates and self.lists_what_is_asked(words, candidates[0], lang):
            # "les domaines prioritaires du campus, c'est lesquels ?": the answer lists them
            out_of_scope = False
        years = years_in(words)
        if candidates and years and not out_of_scope:
            out_of_scope = bool(years - self.entry_words(candidates[0].faq_id))
        if candidates and not out_of_scope and len(words) <= NAMED_WORDS:
            names = {
                n for n in names_in(question, lang) & set(words) if not self.index.neighbours(n)
            }
            names -= set(COMING_FROM.findall(fold(question)))  # "a student from India"
            out_of_scope = bool(names - self.entry_words(candidates[0].faq_id) - CONTEXT_NAMES)
        status, chosen = classify(candidates, self.thresholds, out_of_scope)
        if status == SUGGEST and not out_of_scope:
            owner = self.owner_of_a_name(question, words, lang)
            if owner is not None:
                # "Is Groupe SEB involved in any of this?": SEB is in one entry only, 4iTec's
                status, chosen = ANSWER, [owner]
        if status == ANSWER and self.only_numbers_shared(words, chosen[0].faq_id):
            # "2020 figures for the programme": a year in common is no subject in common
            status = SUGGEST
        best = candidates[0].score if candidates else 0.0
        if out_of_scope and status == SUGGEST:
            # A known subject, a request the FAQ never holds: say so, offer the subject.
            entry = self.kb.entries[chosen[0].faq_id]
            return gap(question, lang, entry, chosen[0], best, candidates)
        if status == ANSWER:
            entry = self.kb.entries[chosen[0].faq_id]
            if (
                (WHERE_IN_QUESTION.search(fold(question)) and not self.tells_where(entry.id, lang))
                or self.day_not_told(question, entry.id, lang)
                or self.not_told(words, entry.id, lang)
            ):
                # "Where will the twenty acceleration centres be?": the answer names no place;
                # "an welchem Tag genau eröffnet es?": it gives the year, not the day
                return gap(question, lang, entry, chosen[0], best, candidates)
            return answer(question, lang, entry, best, candidates)
        if status == SUGGEST:
            return Decision(
                question,
                SUGGEST,
                lang,
                None,
                best,
                tuple(chosen),
                tuple(candidates),
                self.suggestion_text(chosen, lang),
            )
        return Decision(
            question,
            ESCALATE,
            lang,
            None,
            best,
            (),
            tuple(candidates),
            escalation_text(lang),
        )

    def suggestion_text(self, chosen: list[Candidate], lang: str, about: str | None = None) -> str:
        _ = gettext_for(lang)
        if about:
            lines = [_("About {subject}? Did you mean:").format(subject=about)]
        else:
            lines = [_("I am not sure I understood. Did you mean:")]
        lines += [f"{i}. {self.kb.entries[c.faq_id].title(lang)}" for i, c in enumerate(chosen, 1)]
        return "\n".join(lines)


def answer(
    question: str,
    lang: str,
    entry: Entry,
    score: float = 0.0,
    candidates: Iterable[Candidate] = (),
    follows: str | None = None,
) -> Decision:
    """The entry's answer, as is (a follow-up: with the entry it was read with)."""
    return Decision(
        question,
        ANSWER,
        lang,
        entry.id,
        score,
        (),
        tuple(candidates),
        entry.answers[lang],
        follows=follows,
    )


def clarify(question: str, lang: str) -> Decision:
    """Too vague to answer without context: say more, or pick a topic."""
    return Decision(question, CLARIFY, lang, None, 0.0, (), (), clarify_text(lang))


def off_topic(question: str, lang: str, candidates: Iterable[Candidate] = ()) -> Decision:
    """Nothing to do with the programme: what the assistant covers, and the topics."""
    return Decision(
        question, OFF_TOPIC, lang, None, 0.0, (), tuple(candidates), off_topic_text(lang)
    )


def gap(
    question: str,
    lang: str,
    entry: Entry,
    offered: Candidate,
    score: float,
    candidates: Iterable[Candidate],
    follows: str | None = None,
) -> Decision:
    """A known subject asked for what the FAQ does not hold: said plainly, `entry` offered."""
    return Decision(
        question,
        GAP,
        lang,
        entry.id,
        score,
        (offered,),
        tuple(candidates),
        gap_text(lang, entry.title(lang)),
        follows=follows,
    )


def escalation_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _(
        "The FAQ has no answer to this question yet. The programme's team can answer it: "
        "ask the team and the answer will come back here."
    )


def gap_text(lang: str, title: str) -> str:
    _ = gettext_for(lang)
    return _(
        "The FAQ does not say that: it comes from an article of March 2019 that does not give "
        "it. What it does say is under “{question}”; the programme's team can answer the rest: "
        "ask the team."
    ).format(question=title)


def off_topic_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _(
        "That is outside what I know. I answer questions about the Sud Alsace Territoire "
        "d'Industrie: the programme, KMØ, Campus Industrie 4.0, training, the Be 4.0 fair. "
        "Here are the topics:"
    )


def clarify_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Could you say a little more? Tell me what your question is about, or pick a topic:")


def smalltalk_text(kind: str, lang: str) -> str:
    _ = gettext_for(lang)
    if kind == "help":
        return _(
            "I answer questions about the Sud Alsace Territoire d'Industrie from its FAQ. "
            "Write your question in your own words, or pick a topic:"
        )
    if kind == "ack":
        return _("Glad to help. Anything else about the Territoire d'Industrie?")
    if kind == "thanks":
        return _("You're welcome! Ask me anything else about the Territoire d'Industrie.")
    if kind == "bye":
        return _("Goodbye, and good luck with your projects in Sud Alsace!")
    return _(
        "Hello! I answer questions about the Sud Alsace Territoire d'Industrie: the programme, "
        "KMØ, Campus Industrie 4.0, training, the Be 4.0 fair. What would you like to know?"
    )


def settle(engine: Engine) -> Engine:
    """Take a serving engine out of the cyclic garbage collector's reach.

    A built index is hundreds of thousands of objects at 10,000 entries; a full collection
    walking them lands in the middle of some question (hundreds of milliseconds). The index
    holds no reference cycle, so reference counting still frees an engine a reload replaces.
    """
    gc.collect()
    gc.freeze()
    return engine
