"""Pseudonymising a recording, so that it can be committed and still pass the conformance kit offline.

Masking (``mpp_bus.privacy.redact_text``) would break what the kit checks: a masked NIK (``33************01``) is
not a valid NIK, a dropped field fails the canonical schema. So a recording is rewritten value by value, consistently
(the same clear value gets the same replacement everywhere: in response bodies, in recorded request keys and in
headers such as a ``Link``, so that a request the adapter derives from a response is still found):

- every valid NIK (16 digits passing ``nik_problem``) becomes a valid synthetic NIK (region 99, a real calendar date,
  a serial from a counter): never a real person's, still accepted by the adapters and the engine;
- the value of a field (JSON key, XML element or attribute) named like personal data (``is_personal_key``: ``nama``,
  ``alamat``, ``telp``, ``nopol`` ...) becomes ``Disamarkan-N``. This also renames public values under such names
  (a service catalog's ``nama``): a recording is test data, the kit needs a string there, not the real one;
- in what remains, e-mail addresses, phone numbers, vehicle plates and other NIK/NPWP-like runs are masked by
  ``redact_text`` (the kit does not read them as identifiers).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mpp_bus.privacy import nik_problem
from mpp_bus.privacy.redact import is_personal_key, redact_text

_NIK_RUN = re.compile(r"(?<!\d)\d{16}(?!\d)")
_TOKEN = re.compile(r"@@nik:(\d+)@@")  # a NIK's place while the rest is masked; no digit run redact_text takes
_XML_ELEMENT = re.compile(r"<(?P<tag>[\w:.\-]+)(?P<attrs>(?:\s[^<>]*?)?)>(?P<text>[^<]*)</(?P=tag)>")
_XML_ATTRIBUTE = re.compile(r"(?P<name>[\w:.\-]+)=(?P<quote>[\"'])(?P<value>.*?)(?P=quote)")
_XML_TAG = re.compile(r"<[\w:.\-]+\s[^<>]*>")


class Pseudonymiser:
    """Consistent replacements for one recording (one instance per recording, so numbering starts at 1)."""

    def __init__(self) -> None:
        self.niks: dict[str, str] = {}
        self.names: dict[str, str] = {}

    # --- the replacements ----------------------------------------------------------------------------------------

    def nik(self, clear: str) -> str:
        """The synthetic NIK standing for ``clear`` in this recording: 99 01 01, DDMMYY, serial."""
        if clear not in self.niks:
            n = len(self.niks)
            day, serial = 1 + (n // 9999) % 28, 1 + n % 9999
            self.niks[clear] = f"990101{day:02d}0190{serial:04d}"
        return self.niks[clear]

    def name(self, clear: str) -> str:
        if not clear.strip() or _TOKEN.fullmatch(clear.strip()):
            return clear
        return self.names.setdefault(clear, f"Disamarkan-{len(self.names) + 1}")

    def _tokens(self, text: str) -> str:
        def swap(match: re.Match[str]) -> str:
            found = match.group()
            if nik_problem(found) is not None:
                return found
            self.nik(found)
            return f"@@nik:{list(self.niks).index(found)}@@"

        return _NIK_RUN.sub(swap, text)

    def _untokens(self, text: str) -> str:
        synthetic = list(self.niks.values())
        return _TOKEN.sub(lambda m: synthetic[int(m.group(1))], text)

    # --- what a recording holds ----------------------------------------------------------------------------------

    def key(self, text: str) -> str:
        """A request key or a header value: NIKs only (what else is there is the adapter's own request)."""
        return self._untokens(self._tokens(text))

    def body(self, text: str, content_type: str) -> str:
        """A response body, JSON or XML (other bodies: NIKs and values only)."""
        text = self._tokens(text)
        if "json" in content_type:
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            if doc is not None:  # masked inside strings only: a masked number would not be JSON any more
                return self._untokens(json.dumps(self._json(doc), ensure_ascii=False, separators=(",", ":")))
        if text.lstrip().startswith("<"):
            text = self._xml(text)
        return self._untokens(redact_text(text))

    def _json(self, value: Any, personal: bool = False) -> Any:
        if isinstance(value, dict):
            return {k: self._json(v, is_personal_key(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._json(v, personal) for v in value]
        if isinstance(value, str):
            return self.name(value) if personal else redact_text(value)
        return value

    def _xml(self, text: str) -> str:
        def attribute(match: re.Match[str]) -> str:
            if not is_personal_key(match["name"].split(":")[-1]):
                return match.group()
            return f"{match['name']}={match['quote']}{self.name(match['value'])}{match['quote']}"

        def element(match: re.Match[str]) -> str:
            if not is_personal_key(match["tag"].split(":")[-1]):
                return match.group()
            return f"<{match['tag']}{match['attrs']}>{self.name(match['text'])}</{match['tag']}>"

        text = _XML_TAG.sub(lambda m: _XML_ATTRIBUTE.sub(attribute, m.group()), text)
        return _XML_ELEMENT.sub(element, text)


def pseudonymise(interactions: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """A recording's interactions (``Cassette.interactions``) with personal values replaced, as described above."""
    p = Pseudonymiser()
    out: dict[str, list[dict[str, Any]]] = {}
    for key, answers in interactions.items():
        kept = []
        for entry in answers:
            headers = {h: p.key(v) for h, v in entry.get("headers", {}).items()}
            entry = {**entry, "headers": headers}
            if "text" in entry:
                entry["text"] = p.body(entry["text"], headers.get("Content-Type", ""))
            kept.append(entry)
        out.setdefault(p.key(key), []).extend(kept)
    return out
