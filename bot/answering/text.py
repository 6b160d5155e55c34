"""Text normalisation shared by matching, language detection and reports.

Questions arrive informal, accentless, with typos and in three languages; the FAQ is written
with accents and typography. Both go through the same folding so that they meet halfway.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter plus an accent.
_LETTER_FOLDS = {"ø": "o", "ß": "ss", "œ": "oe", "æ": "ae", "ł": "l", "đ": "d"}
_APOSTROPHES = "’'`´‘ʼ"
_SPACES_AND_MARKS = "\u00a0\u202f\u2009\u2007«»–—“”„…"


def _fold_table() -> dict[int, str]:
    """One translation table for the Latin letters users type: accents off, apostrophes to
    spaces. `str.translate` applies it in C, which keeps indexing a large FAQ fast."""
    table = {ord(c): " " for c in _APOSTROPHES}
    for code in range(0xC0, 0x250):
        char = chr(code).lower()
        if len(char) != 1:  # "İ".lower() is two characters
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        table[ord(char)] = _LETTER_FOLDS.get(char, base)
    table.update({ord(k): v for k, v in _LETTER_FOLDS.items()})
    # French typography (no-break spaces, « », dashes, curly quotes, the ellipsis) ends as a
    # space anyway: mapped here, a French question skips the slow Unicode path.
    table.update({ord(c): " " for c in _SPACES_AND_MARKS})
    return table


_FOLD_TABLE = _fold_table()
# KMØ is written KMØ, KMO, KM0, "KM 0" by users; after folding ø it is "kmo" or "km0".
_KMO = re.compile(r"\bkm\s?[o0]\b")
# "Be 4.0", "be4,0", "BE 4.0" -> one token: "be" alone is an English stop word.
_BE40 = re.compile(r"\bbe\s?4\s?[.,]?\s?0\b")
# 4.0 / 4,0 and 1,3 / 1.3: decimal separators differ across the three languages.
_DECIMAL = re.compile(r"(?<=\d)[.,](?=\d)")
_ASCII_WORDS = bytes(c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))
_S_ADRESSE = re.compile(r"\bs[\s'`]+adress")
# "R&D", "F&E": one word, not two letters that folding would drop
_AMPERSAND_PAIR = re.compile(r"(?<=\b[a-z])\s*&\s*(?=[a-z]\b)")
# Cross-border users write the places in their own language: one spelling for matching.
PLACE_NAMES = {
    "mulhausen": "mulhouse",
    "muelhausen": "mulhouse",
    "suedelsass": "sud alsace",
    "sudelsass": "sud alsace",
    "sud elsass": "sud alsace",
    "south alsace": "sud alsace",
    "southern alsace": "sud alsace",
    "elsass": "alsace",
}
_PLACE_NAMES = re.compile(r"\b(?:" + "|".join(sorted(PLACE_NAMES, key=len, reverse=True)) + r")\b")


def fold(text: str) -> str:
    """Lower-case, strip accents and typographic variants; keep only letters, digits, spaces."""
    return " ".join(fold_words(text))


def fold_words(text: str) -> list[str]:
    """The words of `fold(text)` (indexing needs the words, not the text joined again)."""
    text = text.lower()
    if not text.isascii():
        text = text.translate(_FOLD_TABLE)
        if not text.isascii():  # rarer letters and compatibility forms (ligatures, full width)
            text = unicodedata.normalize("NFKC", text).translate(_FOLD_TABLE)
            text = "".join(
                c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
            )
    if "4" in text and "be" in text:
        text = _BE40.sub(" be40 ", text)
    if "km" in text:
        text = _KMO.sub("kmo", text)
    if "," in text or "." in text:
        text = _DECIMAL.sub("", text)
    if "sass" in text or "south" in text or "hausen" in text:  # the keys of PLACE_NAMES
        text = _PLACE_NAMES.sub(lambda m: PLACE_NAMES[m[0]], text)
    if "&" in text:
        text = _AMPERSAND_PAIR.sub("", text)
    if "adress" in text:
        # French "s'adresser à" (is meant for) is not "adresse" (an address).
        text = _S_ADRESSE.sub("sadress", text)
    # Anything but a-z and 0-9 becomes a space (a byte table: the hot path of indexing).
    kept = text.encode("ascii", "replace").translate(_ASCII_WORDS).decode("ascii")
    return kept.split()


def words(text: str) -> list[str]:
    """All folded words of a text, stop words included (language detection needs them)."""
    return fold(text).split()


# "How many", "when", "who", "why" are generic alone, but they tell a count from a
# definition: the three languages' question words become one shared token each.
# Phrases that ask one thing in several words: "since when", "how long", "depuis combien de
# temps" and "seit wie vielen Jahren" ask when something began ("sur combien de temps" asks a
# duration: not one of them); "wie viele", "how many" a count.
# Each becomes the question word of its language (in `QUESTION_WORDS`), the longest first.
_QUESTION_PHRASES = re.compile(
    r"\b(?:"
    r"(?P<quand>(?:depuis|fait)\s+combien\s+de\s+temps|depuis\s+quand)"
    r"|(?P<wann>seit\s+wie\s+vielen?\s+jahren|wie\s+lange|seit\s+wann)"
    r"|(?P<when>since\s+when|how\s+long|how\s+many\s+years|(?:in\s+)?(?:which|what)\s+year)"
    r"|(?P<welchesjahr>in\s+welchem\s+jahr)"
    r"|(?P<quelleannee>en\s+(?:quelle|kelle|kel)\s+annee)"
    r"|(?P<wieviel>wie\s+viele?n?)"
    r"|(?P<quoi>qu\s+est\s+ce\s+qui|ce\s+qui)"
    r"|(?P<howmany>how\s+(?:many|much))"
    r"|(?P<kindof>what\s+(?:kinds?|sorts?|types?)\s+of|quel(?:le)?s?\s+(?:genres?|types?|sortes?)"
    r"\s+d[e]?|welche\s+arten?\s+(?:von|an)|^was\s+fur)"
    r")\b"
)
# A word each phrase holds: a folded text without any of them holds no phrase (one set test
# on its words, not a search per phrase).
_PHRASE_WORDS = frozenset(
    "depuis fait seit wie since how year jahr annee qui kind kinds sort sorts type types genre "
    "genres sorte sortes art arten fur".split()
)


def _question_phrases(folded: str) -> str:
    return _QUESTION_PHRASES.sub(lambda m: m.lastgroup or "", folded)


QUESTION_WORDS = {
    "combien": "qcount",
    "wieviel": "qcount",
    "wieviele": "qcount",
    "howmany": "qcount",
    "quand": "qwhen",
    "wann": "qwhen",
    "when": "qwhen",
    "welchesjahr": "qwhen",
    "kindof": "qkind",
    "quelleannee": "qwhen",
    "qui": "qwho",
    "wer": "qwho",
    "wem": "qwho",
    "wen": "qwho",
    "who": "qwho",
    "whom": "qwho",
    "pourquoi": "qwhy",
    "warum": "qwhy",
    "wieso": "qwhy",
    "weshalb": "qwhy",
    "why": "qwhy",
}

# Cross-border: the neighbour countries, their people and their border towns, in any of the
# three languages, are one token each ("Basel", "Schweizer", "suisses").
NEIGHBOUR_WORDS = {
    **dict.fromkeys(
        "suisse suisses schweiz schweizer schweizerin switzerland swiss basel bale zurich "
        "geneve genf".split(),
        "qswitzerland",
    ),
    **dict.fromkeys(
        "allemagne deutschland germany germans allemands deutsche freiburg lorrach loerrach "
        "karlsruhe stuttgart".split(),
        "qgermany",
    ),
}
SHARED_WORDS = {**QUESTION_WORDS, **NEIGHBOUR_WORDS}


def tokens(text: str, stopwords: frozenset[str]) -> list[str]:
    """The content words of a text: folded, without stop words and one-letter words.

    Question words and neighbour countries of the three languages map to shared tokens
    (`SHARED_WORDS`).
    """
    return folded_tokens(fold(text), stopwords)


def folded_tokens(folded: str, stopwords: frozenset[str]) -> list[str]:
    """`tokens` of a text that is already folded (indexing folds each variant once)."""
    ws = folded.split()
    if not _PHRASE_WORDS.isdisjoint(ws):
        ws = _question_phrases(folded).split()
    return [t for w in ws if (t := token_of(w, stopwords))]


def token_of(word: str, stopwords: frozenset[str]) -> str | None:
    """The token a folded word stands for (`SHARED_WORDS`), or None for a stop word or a
    one-letter word."""
    t = SHARED_WORDS.get(word, word)
    return t if t not in stopwords and (len(t) > 1 or t.isdigit()) else None


class TokenCache(dict):
    """word -> `token_of(word)`, each word worked out once: indexing 233,000 variants meets
    the same few thousand words again and again. For one word list (the FAQ's), not for
    users' text (it would grow without bound)."""

    def __init__(self, stopwords: frozenset[str]):
        super().__init__()
        self.stopwords = stopwords

    def __missing__(self, word: str) -> str | None:
        self[word] = token = token_of(word, self.stopwords)
        return token

    def token_set(self, folded_words: list[str]) -> frozenset[str]:
        """frozenset(folded_tokens(" ".join(folded_words), stopwords)), faster."""
        if not _PHRASE_WORDS.isdisjoint(folded_words):  # phrases first
            folded_words = _question_phrases(" ".join(folded_words)).split()
        return frozenset(filter(None, map(self.__getitem__, folded_words)))


# Stop words of the three languages, already folded (no accents). Besides grammar words they
# hold the question words and politeness that carry no topic ("when", "how much", "please"):
# a question that shares only these with an entry shares nothing with it.
STOPWORDS_FR = frozenset(
    """
    mien mienne miens miennes tien tienne sien sienne autres
    a ai aie aient aies ait alors as au aucun aussi autre aux avec avais avait avant avez avoir
    avons bon c ca car ce cela celle celles celui ces cet cette ceux chaque chez ci comme comment
    d dans de des du donc dont du elle elles en encore es est et etaient etait etant ete etes etre
    eu eux fait faire fais faut il ils j je jusqu l la le les leur leurs lui m ma mais me meme mes
    moi mon n ne ni nos notre nous on ont ou par pas peu peut peux plus pour pourquoi qu quand que
    quel quelle quelles quels qui quoi s sa sans se sera ses si sien son sont sur t ta te tes toi
    ton tous tout toute toutes tres tu un une vos votre vous y svp stp merci bonjour salut bonsoir
    seront serait seraient fut aurait
    coucou voudrais voudrait veux veut aimerais savoir dire dites expliquer explique connaitre
    question questions renseignement renseignements info infos information informations possible
    combien ou quoi koi kel kelle c est ce cest sil svp oui non deja vraiment bien beaucoup
    exactement precisement concretement actuellement aujourd hui svp pouvez pourriez pourrais
    peux sais sait savez chercher cherche besoin genre enfin alors donc quelqu quelque chose
    choses sujet concernant propos parle parler suis es sommes etes doit dois doivent va
    vais vont aura auront sert sers servir ya vrai faire fait font fais peut pourra pourrait
    repondre repond reponse reponses
    dirige travaille travaille habite vis vit entendu parler entendu lu vu petit petite grand
    grande gros grosse nouveau nouvelle nouvelles nouveaux total globale global general
    exactement concretement vraiment existe exister trouve trouver sais savoir veux voudrais
    prendre prend mettre met donner donne avoir etre ici la bas quelqu chose cela ceci
    """.split()
)
STOPWORDS_DE = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes auch auf aus bei bin bis bist da damit dann das dass dein deine dem den der des dessen
    dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine einem einen
    einer eines er es etwas euch euer eure fur gibt gab habe haben hat hatte hier hin hinter ich
    ihm ihn ihnen ihr ihre im in ins ist ja jede jedem jeden jeder jedes jetzt kann kannst konnen
    konnte kein keine man mein meine mich mir mit muss mussen nach nicht nichts noch nun nur ob
    oder ohne sehr sein seine sich sie sind so soll sollte sondern uber um und uns unser unsere
    unter viel vom von vor war waren warum was weil welche welchem welchen welcher welches wenn
    wer werde werden wie wieviel wieviele wo woher wohin wann wir wird wirst wurde zu zum zur
    zwischen bitte danke hallo moin servus gruezi gruss tag guten frage fragen mochte mochten
    wurde gerne gern wissen erklaren sagen sag infos info information informationen genau
    eigentlich denn mal halt eben schon wieso weshalb viele vielen welchen gibts gehts geht
    erfahren kennen bescheid uns euch dazu daruber worum wofur wozu hallo grusse ihnen
    bist seid gehen kommt leite leiten arbeite arbeiten arbeitet wohne wohnen lebe habe
    gehort gehoert gehort gehoren sagt sagen macht machen tun nutzt nutzen stellt stellen
    darf durfen kommen komme neu neue neuen neuer gross grosse grossen groß klein kleine
    kleinen genau insgesamt gesamt gesamte uberhaupt ueberhaupt trotzdem eigentlich bereit
    gehort gelesen erzahlt finde finden suche suchen brauche brauchen moechte mochte
    genutzt findet statt befindet stattfinden hast deine dein stecken steckt antworten antwort
    fuer ueber koennen koennte moechte moechten muessen wuerde waere waeren haette duerfen
    davon dafur dafuer hiervon hoi zame zaeme gits oppis oeppis luege
    daruber darueber wofuer gehoeren erklaeren erzaehlt gruesse
    nein meinte gemeint ganz ganze ganzen ganzer ganzes gedacht daran darauf
    """.split()
)
STOPWORDS_EN = frozenset(
    """
    a about above after again all am an and any are as at be been before being below between both
    per but by can could did do does doing down during each few for from further had has have having
    he her here hers him his how i if in into is it its itself just me more most my no nor not of
    off on once only or other our out over own same she should so some such than that the their
    others them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours please thanks thank hello
    hi hey tell know explain want wanted wondering wonder like question questions info
    information much many whats wheres whos hows cheers dear sir madam any anything something
    thing things regarding concerning exactly actually currently really get got give need
    kind sort way also am going gonna does anyone someone run running live
    living small big large new total overall whole heard read told find looking look
    trying try understand use used using make made take come coming go let lets im ive
    id youre theres good morning writing paper mentioned called friend
    answer answers reply meant
    """.split()
)
# Hesitations of the three languages: nothing asked ("hmm", "euh", "ähm").
FILLERS = frozenset("hmm hm hmmm mmh mh euh heu bof ahm aehm ah uh um umm erm".split())
STOPWORDS = STOPWORDS_FR | STOPWORDS_DE | STOPWORDS_EN | FILLERS
