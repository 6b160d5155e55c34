"""Fuzzy, weighted matching of a question against every question variant of the FAQ.

Each word of the question is looked up in the FAQ's vocabulary with `rapidfuzz.process`, so
that typos and inflections ("FROMLAB", "territoires") still meet their word. Words weigh by
rarity across entries (an inverse document frequency): KMØ, FORMLAB or CETIM decide a match,
words shared by many entries barely count. A variant scores by how much of the question it
explains and how much of itself the question covers.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.answering.text import STOPWORDS, TokenCache, fold_words

_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class MatchSettings:
    """How forgiving and how strict matching is; calibrated on `tests/data/eval.yaml`."""

    # A question word meets a vocabulary word when fuzz.ratio reaches this (0-100).
    typo_cutoff: float = 84.0
    # From this many letters, one wrong letter is a typo whatever `typo_cutoff` says.
    one_typo_from: int = 6
    # Words longer than this are no words (a link, a paste, a key held down): matched exactly
    # only, which also bounds the splitting of compounds.
    longest_word: int = 40
    # Words this short must match exactly ("pme" is not "pmi").
    exact_below: int = 4
    # Shortest part of a compound word looked up on its own, and the discount of such a match.
    compound_part: int = 4
    compound_discount: float = 0.85
    # Above this many candidate variants, a word adds only the lightest variants holding it
    # (its postings are sorted by weight) and updates the candidates already found: large
    # knowledge bases stay fast, small ones are matched exhaustively.
    candidate_cap: int = 2000
    # Vocabulary words each question word may meet.
    neighbours: int = 3
    # Weight of a question word that meets nothing in the FAQ: context ("my company in Basel")
    # more often than subject.
    unknown_weight: float = 1.0
    # Weight of a word that says the question asks what the FAQ never holds (price, hours…),
    # or asks of something else than the programme (the weather, a series) when the FAQ does
    # not use it: what the FAQ cannot explain weighs, so nothing answers it with confidence.
    out_of_scope_weight: float = 4.0
    # Years are facts ("2018", "2020"): asking about another year is asking another question.
    number_factor: float = 2.0
    # Balance between explaining the question (1.0) and covering the variant (0.0).
    question_share: float = 0.4
    # Weight of the whole entry's evidence (all its variants together) in the final score.
    entry_share: float = 0.3


# Getting somewhere: the FAQ never holds it; about one of its subjects a gap ("KMØ en
# tram ?"), about places only off-topic ("horaires du TER Mulhouse-Bâle").
TRAVEL_WORDS = frozenset(
    "railway ter sncf tram tramway bus zug zuge bahn sbb flughafen airport aeroport".split()
)

# Words that mark a request the article never answers: prices, hours, deadlines, contacts,
# jobs. Words the FAQ itself uses in another sense stay out ("s'adresse", "ouvert aux
# entreprises", "salariés", "candidaté", "number of visitors", "sur un même site"). A question
# holding one is never answered with confidence: "how much does FORMLAB cost" is not "what
# is FORMLAB".
OUT_OF_SCOPE_CUES = (
    frozenset(
        """
    prix tarif tarifs cout couts coute coutent payant gratuit gratuite gratis frais horaire horaires
    ouverture fermeture heure heures limite delai delais inscrire inscription inscriptions
    postuler dossier formulaire subvention subventions telephone courriel email mail adresse
    parking salaire salaires stage stages embauche demain prochain prochaine prochaines meteo
    tel numero lister auflisten adherer adhesion bewerben bewerbe bewerbung
    candidater exposant exposants aussteller exhibitor exhibitors directeur direktor director
    website webseite internet web mois monat month exakt exact inscris
    inscrit melde anrufen appeler call adress signup
    preis preise kosten kostet kostenlos gebuhr gebuhren offnungszeiten geoffnet offnet
    geschlossen uhr uhrzeit frist fristen anmeldung anmelden antrag formular zuschuss
    zuschusse telefon telefonnummer anschrift anfahrt gehalt gehalter stellenangebot
    stellenangebote praktikum morgen nachste nachsten wetter parkplatz parkplatze eintritt
    beitrag beitrage mitgliedsbeitrag cotisation membership
    price prices cost costs fee fees hours opening deadline deadlines registration enrol
    enroll register sign subsidy subsidies grant grants phone telephone email parking salary vacancy
    hiring hire verdient verdienen earn earns wifi wlan password passwort
    vacancies internship tomorrow weather next ticket tickets address addresses
    lundi mardi mercredi jeudi vendredi samedi dimanche weekend montag dienstag mittwoch
    donnerstag freitag samstag sonntag wochenende monday tuesday wednesday thursday friday
    saturday sunday rent rental louer loyer miete mieten coworking free
    paid remunere remuneres remuneration bezahlt verguetung gesprochen spoken
    fordergeld fordergelder foerdergeld foerdergelder fordermittel foerdermittel
    jobangebot jobangebote stellenanzeige stellenanzeigen strasse hausnummer street
    """.split()
    )
    | TRAVEL_WORDS
)


# Subjects the programme has nothing to do with: asked about, the assistant says what it covers
# rather than offer random entries ("the weather" is not "What is m2A?").
OFF_TOPIC_CUES = frozenset(
    """
    meteo pluie neige blague blagues humour foot football rugby tennis recette recettes cuisine
    cinema film films serie horoscope musique chanson vacances plage restaurant pizza
    wetter regen schnee witz witze fussball fussballweltmeister rezept rezepte kochen kino
    horoskop musik lied urlaub strand pizza
    weather rain snow joke jokes funny soccer football rugby recipe recipes cooking movie movies
    cinema horoscope music song holiday holidays beach restaurant cake bake chocolate gateau
    chocolat kuchen backen schokolade calories kalorien impots steuer steuererklarung tax taxes
    netflix serie series capitale hauptstadt capital vol vols flug fluge flight flights guitare
    gitarre guitar poeme gedicht poem randonnee wandern hiking champions meister forfait
    handyvertrag hausaufgaben homework devoirs mba carbonara noel weihnachtsmarkt christmas
    vomit vomir malade maladie medecin docteur pharmacie krank arzt apotheke sick doctor
    pharmacy veterinaire tierarzt vet chien hund dog katze cat convertir conversion umrechnen
    rechne convert exchange wechselkurs taux usa amerique amerika america trump macron
    election elections wahl resto manger diner dejeuner essen mittagessen lunch dinner eat
    biere bier beer backe backt bake baking fc sc match spiel gespielt played game score
    gagne gewonnen won
    licence jura law psychologie psychology medecine medizin medicine sante gesundheit
    health hotel hotels unterkunft logement wohnung apartment appartement
    visa visum bitcoin crypto krypto python javascript code coding programming programmieren
    traduire traduis traduction ubersetzen uebersetzen ubersetze translate translation lotto
    loto lottery bourse aktie aktien stocks religion iphone android smartphone handy
    geburtstag anniversaire birthday
    coiffure coiffeur friseur hairdresser haircut fieber fievre fever grippe erkaltung rhume
    mindestlohn smic brexit voter europeennes sql tgv tnt fernseher digitalfernseher
    television tele tv velo fahrrad bike bicycle copain copine boyfriend girlfriend liebesbrief
    resiliation kundigung
    """.split()
)


@lru_cache(maxsize=8)
def compound_cues(cues: frozenset[str]) -> tuple[str, ...]:
    """The cues long enough to end a German compound (one tuple per cue set, for endswith)."""
    return tuple(cue for cue in cues if len(cue) >= 5)


def is_cue(word: str, cues: frozenset[str]) -> bool:
    """A word of `cues`, or a German compound ending with one ("Eintrittspreis",
    "Bewerbungsfrist", "Apfelkuchen")."""
    if word in cues:
        return True
    suffixes = compound_cues(cues)
    return word.endswith(suffixes) and any(
        len(word) > len(cue) + 3 and word.endswith(cue) for cue in suffixes
    )


NEIGHBOUR_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class Candidate:
    """An entry that may answer the question, with its best-matching variant."""

    faq_id: str
    score: float  # 0-100
    variant: str
    language: str
    # Share (0-1) of the question's weight that the entry's variants explain together.
    explained: float = 1.0


@dataclass
class MatchIndex:
    """Everything `match` needs, built once per knowledge base by `build_index`."""

    settings: MatchSettings
    stopwords: frozenset[str]
    out_of_scope: frozenset[str]
    idf: dict[str, float]
    vocabulary_by_length: dict[int, list[str]]
    postings: dict[str, list[int]]
    variant_entry: list[str] = field(default_factory=list)
    variant_language: list[str] = field(default_factory=list)
    variant_text: list[str] = field(default_factory=list)
    variant_weight: list[float] = field(default_factory=list)
    variant_tokens: list[frozenset[str]] = field(default_factory=list)
    # Per language, every folded word of its variants, stop words included (the language
    # lexicon's input).
    language_words: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Questions repeat words; caching vocabulary look-ups keeps the hot path short. A plain
        # dict, not functools.lru_cache on a bound method: that would make the index a
        # reference cycle, which only the cyclic collector frees (see `engine.settle`).
        self._near: dict[str, tuple[tuple[str, float], ...]] = {}
        # One message may be matched several times on the same words (alone, then as a
        # follow-up that turns out not to be one): the last few results, kept.
        self._matches: dict[
            tuple[tuple[str, ...], int, frozenset[str] | None], tuple[Candidate, ...]
        ] = {}
        # The entries whose variants hold a vocabulary word, in the order of its postings:
        # index data like the postings, worked out on a word's first use, never forgotten.
        self._entries_holding: dict[str, tuple[str, ...]] = {}
        self._postings_within: dict[
            frozenset[str], dict[str, tuple[list[int], tuple[str, ...]]]
        ] = {}

    def holders(
        self, vocab_word: str, within: frozenset[str] | None = None
    ) -> tuple[Sequence[int], tuple[str, ...]]:
        """The variants holding `vocab_word` (its postings), restricted to the entries
        `within` when given (a follow-up's topic), and their entries, each once: worked out
        once per word (and entry set, for the last few sets)."""
        if within is None:
            return self.postings.get(vocab_word, ()), self._entries_of(vocab_word)
        per_word = self._postings_within.get(within)
        if per_word is None:
            if len(self._postings_within) >= WITHIN_CACHE_SIZE:
                self._postings_within.clear()
            per_word = self._postings_within[within] = {}
        found = per_word.get(vocab_word)
        if found is None:
            variant_entry = self.variant_entry
            held = [v for v in self.postings.get(vocab_word, ()) if variant_entry[v] in within]
            found = per_word[vocab_word] = (
                held,
                tuple(dict.fromkeys(variant_entry[v] for v in held)),
            )
        return found

    def _entries_of(self, vocab_word: str) -> tuple[str, ...]:
        """The entries (ids) with a variant holding `vocab_word`, each once."""
        found = self._entries_holding.get(vocab_word)
        if found is None:
            variant_entry = self.variant_entry
            found = self._entries_holding[vocab_word] = tuple(
                dict.fromkeys(variant_entry[v] for v in self.postings.get(vocab_word, ()))
            )
        return found

    def neighbours(self, word: str) -> tuple[tuple[str, float], ...]:
        """Vocabulary words close to `word` (cached), with a similarity from 0 to 1."""
        near = self._near.get(word)
        if near is None:
            if len(self._near) >= NEIGHBOUR_CACHE_SIZE:
                self._near.clear()
            near = self._near[word] = self._neighbours(word)
        return near

    def clear_cache(self) -> None:
        """Forget cached look-ups (benchmarks measure questions with unseen words)."""
        self._near.clear()
        self._matches.clear()

    def cutoff(self, length: int) -> float:
        """The similarity a word of `length` letters needs: `typo_cutoff`, but one wrong
        letter always passes from `one_typo_from` letters ("maizon" is "maison": 83.3)."""
        if length >= self.settings.one_typo_from:
            return min(self.settings.typo_cutoff, 100.0 * (length - 1) / length - 0.01)
        return self.settings.typo_cutoff

    def _neighbours(self, word: str) -> tuple[tuple[str, float], ...]:
        """Vocabulary words close to `word`, with a similarity from 0 to 1."""
        if (
            len(word) < self.settings.exact_below
            or len(word) > self.settings.longest_word
            or word.isdigit()
        ):
            return ((word, 1.0),) if word in self.idf else ()
        pool: list[str] = []
        for length in range(len(word) - 2, len(word) + 3):
            pool.extend(self.vocabulary_by_length.get(length, ()))
        found = process.extract(
            word,
            pool,
            scorer=fuzz.ratio,
            score_cutoff=self.cutoff(len(word)),
            limit=self.settings.neighbours,
        )
        near = tuple((w, 1.0 if w == word else score / 100.0) for w, score, _ in found)
        if near or len(word) < 2 * self.settings.compound_part:
            return near
        return self._compound_parts(word)

    def _compound_parts(self, word: str) -> tuple[tuple[str, float], ...]:
        """German compounds the FAQ writes otherwise ("Pilotgebiete", "Besucherzahlen"): a
        first part that is a vocabulary word as it stands, and a rest that meets one (maybe
        inflected), both a little discounted."""
        best: tuple[tuple[str, float], ...] = ()
        best_sim = 0.0
        part = self.settings.compound_part
        discount = self.settings.compound_discount
        for cut in range(part, len(word) - part + 1):
            head = word[:cut]
            if head not in self.idf:
                continue
            tail = self.neighbours(word[cut:])
            if tail:
                sim = (cut + tail[0][1] * (len(word) - cut)) / len(word)
                if sim > best_sim:
                    best_sim = sim
                    best = ((head, discount), (tail[0][0], tail[0][1] * discount))
        return best


def build_index(
    variants: Iterable[tuple[str, str, str]],
    settings: MatchSettings | None = None,
    stopwords: frozenset[str] = STOPWORDS,
    out_of_scope: frozenset[str] = OUT_OF_SCOPE_CUES,
    counted_as: Mapping[str, str] | None = None,
) -> MatchIndex:
    """Index `(faq_id, language, question)` triples for `match`.

    `counted_as`: ids whose words count as another entry's for rarity (a subject's gap
    questions are about that subject: they must not make its own words look common)."""
    counted_as = counted_as or {}
    settings = settings or MatchSettings()
    index = MatchIndex(settings, stopwords, out_of_scope, {}, {}, {})
    words_of_entry: dict[str, set[str]] = defaultdict(set)
    triples = list(variants)
    # column by column, each in one map(): the hot path of indexing a large FAQ
    index.variant_entry = [faq_id for faq_id, _, _ in triples]
    index.variant_language = [lang for _, lang, _ in triples]
    index.variant_text = [text for _, _, text in triples]
    folded = list(map(fold_words, index.variant_text))
    index.variant_tokens = list(map(TokenCache(stopwords).token_set, folded))
    for lang, words in zip(index.variant_language, folded, strict=True):
        index.language_words.setdefault(lang, set()).update(words)
    del folded
    for faq_id, words in zip(index.variant_entry, index.variant_tokens, strict=True):
        words_of_entry[counted_as.get(faq_id, faq_id)] |= words
    # Rarity counts entries, not variants: ten ways of asking about FORMLAB are one entry.
    entries_with: dict[str, int] = defaultdict(int)
    for words in words_of_entry.values():
        for w in words:
            entries_with[w] += 1
    n_entries = len(words_of_entry) or 1
    idf = {w: math.log(1.0 + n_entries / count) for w, count in entries_with.items()}
    index.idf = idf
    for w in sorted(idf):  # sorted: ties between close words break the same way every run
        index.vocabulary_by_length.setdefault(len(w), []).append(w)
    weight = index.variant_weight
    # fsum: exactly rounded, so the same in any order of the set (ties between variants then
    # break the same way in every run, whatever the hash seed)
    weight.extend(math.fsum(map(idf.__getitem__, words)) or 1.0 for words in index.variant_tokens)
    # Postings list the lightest variants first (see `MatchSettings.candidate_cap`).
    postings: dict[str, list[int]] = defaultdict(list)
    tokens_of = index.variant_tokens
    for i in sorted(range(len(weight)), key=weight.__getitem__):
        for w in tokens_of[i]:
            postings[w].append(i)
    index.postings = dict(postings)
    return index


def question_weights(index: MatchIndex, words: Sequence[str]) -> dict[str, float]:
    """Each content word of the question (`text.tokens`) with the weight it carries."""
    weights: dict[str, float] = {}
    for word in words:
        if is_cue(word, index.out_of_scope) or (
            word not in index.idf and is_cue(word, OFF_TOPIC_CUES)
        ):
            weights[word] = index.settings.out_of_scope_weight
            continue
        near = index.neighbours(word)
        # The closest vocabulary word says how rare this word is (the exact one if present).
        weight = (
            index.idf[max(near, key=lambda n: n[1])[0]] if near else index.settings.unknown_weight
        )
        weights[word] = weight * (index.settings.number_factor if _YEAR.match(word) else 1.0)
    return weights


def asks_out_of_scope(index: MatchIndex, words: Sequence[str]) -> bool:
    """Whether the question (its `tokens`) asks what the FAQ never holds: a price, hours…"""
    return any(is_cue(w, index.out_of_scope) for w in words)


def years_in(words: Sequence[str]) -> set[str]:
    """The years a question (its `tokens`) names ("2018", "2020"): an entry that never
    mentions one of them does not answer it."""
    return {w for w in words if _YEAR.match(w)}


MATCH_CACHE_SIZE = 64
WITHIN_CACHE_SIZE = 64


def match(
    index: MatchIndex,
    words: Sequence[str],
    limit: int = 5,
    within: frozenset[str] | None = None,
) -> list[Candidate]:
    """The entries closest to a question (its `tokens`), best first, one per entry; only
    the entries (ids) `within`, when given (a follow-up read in its subject's topic)."""
    key = (tuple(words), limit, within)
    found = index._matches.get(key)
    if found is None:
        if len(index._matches) >= MATCH_CACHE_SIZE:
            index._matches.clear()
        found = index._matches[key] = tuple(_match(index, words, limit, within))
    return list(found)


def _match(
    index: MatchIndex, words: Sequence[str], limit: int, within: frozenset[str] | None = None
) -> list[Candidate]:
    weights = question_weights(index, words)
    total = sum(weights.values())
    if not total:
        return []
    # variant -> its share of the question's weight, and of its own, that the words met explain
    explained_of: dict[int, float] = {}
    covered_of: dict[int, float] = {}
    # entry -> question word -> best similarity over all the entry's variants
    entry_met: dict[str, dict[str, float]] = defaultdict(dict)
    variant_entry = index.variant_entry
    explained_get, covered_get = explained_of.get, covered_of.get
    cap = index.settings.candidate_cap
    for word in sorted(weights, key=weights.__getitem__, reverse=True):
        if word not in index.idf and (
            is_cue(word, OFF_TOPIC_CUES) or is_cue(word, index.out_of_scope)
        ):
            continue
        weight = weights[word]
        # Neighbours come best first: the first vocabulary word a variant holds is its
        # closest, and the only one counted for it (so for its entry).
        counted: set[int] = set()
        entries_counted: set[str] = set()
        near = index.neighbours(word)
        for vocab_word, similarity in near:
            idf = index.idf[vocab_word]
            holders, holding = index.holders(vocab_word, within)
            explains, covers = weight * similarity, idf * similarity
            if len(explained_of) + len(holders) > cap:
                known = [v for v in explained_of if vocab_word in index.variant_tokens[v]]
                holders = [*holders[: max(0, cap - len(explained_of))], *known]
                entries = dict.fromkeys(variant_entry[v] for v in holders if v not in counted)
            elif len(near) == 1:
                # the common case, one vocabulary word: no variant met twice, every holder
                # counted (the loop below without its bookkeeping)
                entries = holding
                for v in holders:
                    explained_of[v] = explained_get(v, 0.0) + explains
                    covered_of[v] = covered_get(v, 0.0) + covers
                holders = ()
            else:
                entries = dict.fromkeys(variant_entry[v] for v in holders if v not in counted)
            for v in holders:
                if v in counted:
                    continue
                counted.add(v)
                explained_of[v] = explained_get(v, 0.0) + explains
                covered_of[v] = covered_get(v, 0.0) + covers
            for faq_id in entries:
                if faq_id not in entries_counted:
                    entries_counted.add(faq_id)
                    entry_met[faq_id][word] = similarity
    share = index.settings.question_share
    best_by_entry: dict[str, tuple[float, int]] = {}
    variant_weight = index.variant_weight
    for v, explains in explained_of.items():
        explained = explains / total
        covered = covered_of[v] / variant_weight[v]
        if covered > 1.0:
            covered = 1.0
        score = 100.0 * explained**share * covered ** (1.0 - share)
        faq_id = variant_entry[v]
        if faq_id not in best_by_entry or score > best_by_entry[faq_id][0]:
            best_by_entry[faq_id] = (score, v)
    # A question may borrow its words from several variants of one entry ("student" from
    # one, "Maison de l'Industrie" from another): that entry explains all of it.
    blend = index.settings.entry_share
    scored = []
    for faq_id, (score, v) in best_by_entry.items():
        entry_explained = sum(weights[w] * sim for w, sim in entry_met[faq_id].items()) / total
        final = (1.0 - blend) * score + blend * 100.0 * entry_explained
        scored.append(
            Candidate(
                faq_id,
                round(final, 2),
                index.variant_text[v],
                index.variant_language[v],
                round(entry_explained, 3),
            )
        )
    scored.sort(key=lambda c: c.score, reverse=True)
    return scored[:limit]
