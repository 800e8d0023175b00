"""Parsing a page's form body, urlencoded or multipart (a form with files), with the standard library only.

Example::

    parsed = parse_form(await request.body(), request.headers.get("content-type", ""))
    parsed.value("csrf_token"), parsed.files["dokumen_KK"].content
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

MAX_PARTS = 100


@dataclass(frozen=True)
class FormFile:
    filename: str
    content: bytes = field(repr=False)


@dataclass
class ParsedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, FormFile] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        return (self.fields.get(name) or [default])[0]


def parse_form(body: bytes, content_type: str) -> ParsedForm:
    """The fields and files of a form body; an empty form for any other content type or a malformed body."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return ParsedForm(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not content_type.startswith("multipart/form-data"):
        return ParsedForm()
    # The header line is rebuilt from the request's own header, then the MIME parser splits the parts.
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    parsed = ParsedForm()
    if not message.is_multipart():
        return parsed
    for count, part in enumerate(message.iter_parts()):
        if count >= MAX_PARTS:
            break
        name = _disposition(part, "name")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = _disposition(part, "filename")
        if filename is not None:
            if content or filename:  # an empty file input sends an empty part without a name
                parsed.files[name] = FormFile(filename, content)
        else:
            parsed.fields.setdefault(name, []).append(content.decode("utf-8", "replace"))
    return parsed


def _disposition(part: Message, key: str) -> str | None:
    value = part.get_param(key, header="content-disposition")
    if value is None:
        return None
    return str(value if isinstance(value, str) else value[2])
