"""Catalog search: rank services by how well a citizen's words match them, whatever their order, small typos, or old
names (IMB for PBG) through the synonym table.

Each word of the query (with its synonyms, and the synonyms of runs of words it is part of) is one *group*; a group
scores the best of its alternatives, and an alternative scores its similarity to the service's name (counted twice)
plus its similarity to the rest of the service's text, each only when at least ``THRESHOLD``, plus a bonus when it
is the service's own code; words most services share ("izin", "surat") count for little. A service matches when
any group scores; the more groups match and the closer, the higher it ranks. Similarity is trigram based on both
stores: ``word_similarity`` of ``pg_trgm`` on PostgreSQL; on SQLite the share of the alternative's trigrams found in
the text, over the candidates an FTS5 trigram index returns (migration 0007).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Float, case, cast, func, literal, literal_column, select, table

from mpp_bus.store.tables import SEARCH_INDEX, agencies, search_synonyms, services

THRESHOLD = 0.6
MAX_WORDS = 8
MAX_RUN = 3  # longest run of words looked up in the synonym table
NAME_WEIGHT = 2.0
CODE_BONUS = 3.0  # a word that is the service's own code (PBG, NIB, SKF-01) names it
# Words that occur in a large share of service names say little about which service is meant: they count this much.
WEAK_WEIGHT = 0.25
WEAK_WORDS = frozenset({
    "izin", "ijin", "perizinan", "surat", "layanan", "penerbitan", "pendaftaran", "permohonan", "pengurusan", "urus",
    "mengurus", "buat", "membuat", "cara", "untuk", "dan", "di", "ke", "yang", "baru", "data",
})

_WORD = re.compile(r"[0-9a-z]+(?:[-/][0-9a-z]+)*")


def words_of(text: str) -> list[str]:
    """The query's words, lower case, in order (hyphenated codes such as ``ktp-el`` stay one word)."""
    return _WORD.findall(text.lower())[:MAX_WORDS]


def groups_of(conn: Connection, words: Sequence[str]) -> list[list[str]]:
    """Per word, its alternatives: the word, its synonyms, and those of every run of words containing it."""
    runs = {(i, j): " ".join(words[i:j]) for i in range(len(words))
            for j in range(i + 1, min(len(words), i + MAX_RUN) + 1)}
    found: dict[str, list[str]] = {}
    rows = conn.execute(select(search_synonyms.c.term, search_synonyms.c.synonym)
                        .where(search_synonyms.c.term.in_(set(runs.values()))))
    for term, synonym in rows:
        found.setdefault(term, []).append(synonym)
    groups: list[list[str]] = []
    for k, word in enumerate(words):
        alternatives = [word]
        for (i, j), run in sorted(runs.items(), key=lambda item: item[0][1] - item[0][0]):
            if i <= k < j:
                alternatives += [s for s in found.get(run, []) if s not in alternatives]
        groups.append(alternatives)
    return groups


def ranked(conn: Connection, text: str) -> Any | None:
    """A subquery ``(agency_id, code, score)`` of the services ``text`` matches (score above zero, withdrawn ones
    included: the caller filters), or None when ``text`` holds no word to search for."""
    words = words_of(text)
    if not words:
        return None
    groups = groups_of(conn, words)
    if conn.dialect.name == "postgresql":
        return _postgres(groups)
    return _sqlite(groups)


def _score(groups: list[list[str]], code: Any, name: Any, body: Any, similarity: Any, greatest: Any) -> Any:
    def kept(value: Any) -> Any:
        return case((value >= THRESHOLD, value), else_=literal(0.0))

    def alternative(alt: str) -> Any:
        exact = case((func.lower(code) == alt, CODE_BONUS), else_=literal(0.0))
        return exact + NAME_WEIGHT * kept(similarity(alt, name)) + kept(similarity(alt, body))

    total: Any = literal(0.0)
    for alternatives in groups:
        scores = [alternative(a) for a in alternatives]
        best = scores[0] if len(scores) == 1 else greatest(*scores)
        total = total + (WEAK_WEIGHT * best if alternatives[0] in WEAK_WORDS else best)
    return total


def _postgres(groups: list[list[str]]) -> Any:
    body = (services.c.description + " " + services.c.category + " " + services.c.code + " "
            + func.coalesce(agencies.c.name, ""))

    def similarity(alt: str, column: Any) -> Any:
        return cast(func.word_similarity(literal(alt), column), Float)

    score = _score(groups, services.c.code, services.c.name, body, similarity, func.greatest).label("score")
    inner = (select(services.c.agency_id, services.c.code, score)
             .select_from(services.outerjoin(agencies, agencies.c.id == services.c.agency_id)).subquery())
    return select(inner).where(inner.c.score > 0).subquery("ranked")


def _sqlite(groups: list[list[str]]) -> Any:
    index = table(SEARCH_INDEX, literal_column("agency_id"), literal_column("code"), literal_column("name"),
                  literal_column("body"))
    name, body = func.lower(index.c.name), func.lower(index.c.body)

    def similarity(alt: str, column: Any) -> Any:
        grams = trigrams(alt)
        if not grams:  # shorter than a trigram: found as it is, or not
            return cast(func.instr(column, alt) > 0, Float)
        hits: Any = literal(0)
        for gram in grams:
            hits = hits + case((func.instr(column, gram) > 0, 1), else_=0)
        return cast(hits, Float) / len(grams)

    score = _score(groups, index.c.code, name, body, similarity, func.max).label("score")
    stmt = select(index.c.agency_id, index.c.code, score).select_from(index)
    every = dict.fromkeys(gram for alternatives in groups for alt in alternatives for gram in trigrams(alt))
    if all(len(alt) >= 3 for alternatives in groups for alt in alternatives):
        # The index narrows the scan to services sharing at least one trigram with some alternative.
        stmt = stmt.where(literal_column(SEARCH_INDEX).op("MATCH")(" OR ".join(_quoted(g) for g in every)))
    inner = stmt.subquery()
    return select(inner).where(inner.c.score > 0).subquery("ranked")


def trigrams(value: str) -> list[str]:
    """The distinct three-character runs of ``value`` (lower case), in order."""
    value = value.lower()
    return list(dict.fromkeys(value[i:i + 3] for i in range(len(value) - 2)))


def _quoted(gram: str) -> str:
    return '"' + gram.replace('"', '""') + '"'
