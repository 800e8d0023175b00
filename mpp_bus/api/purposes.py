"""The purpose vocabulary of ``X-Purpose``: why a caller reads personal data, from a configured closed list.

A purpose is compared without case and with runs of spaces collapsed; the audit log keeps the vocabulary's own
spelling. An unknown purpose is refused with the list of allowed ones, so a caller learns the vocabulary from the
first refusal, and free text (which could carry a NIK or a name) never reaches the log.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import HTTPException, status


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def allowed_purpose(stated: str, vocabulary: Iterable[str]) -> str:
    """The vocabulary term ``stated`` names; 400 naming the allowed ones when it names none."""
    terms = list(vocabulary)
    wanted = _normal(stated)
    for term in terms:
        if _normal(term) == wanted:
            return term
    raise HTTPException(status.HTTP_400_BAD_REQUEST,
                        "X-Purpose is not one of the allowed purposes: " + ", ".join(repr(t) for t in terms))
