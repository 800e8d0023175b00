"""Where a declarative field's value is in an agency record: dotted paths in JSON, column names in CSV, and a small
path syntax for XML built on lxml's ElementPath (the tree comes from the SDK's hardened parser):

    @no                  an attribute of the record element
    status, status/text()   the text of the first ``status`` descendant (ElementPath: ``a/b``, ``.//c``)
    pemohon/@nik         an attribute of the first ``pemohon``
    .                    the record element's own text
    syarat/dokumen[]     the texts (or ``syarat/dokumen/@kode[]``: the attributes) of every match, as a list

An XML record is read into a plain mapping ``{path: value}`` once, so the field converters, the keyset read and the
quarantine (which redacts a mapping) treat it like a JSON object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mpp_bus.errors import ConfigError

XmlGetter = Callable[[Any], Any]


def xml_getter(path: str) -> XmlGetter:
    """The reader of one XML path (see the module docstring); a malformed path fails when the spec loads."""
    text = path.strip()
    many = text.endswith("[]")
    if many:
        text = text[:-2]
    if text.endswith("/text()"):
        text = text[: -len("/text()")]
    elif text == "text()":
        text = "."
    attr: str | None = None
    if "@" in text:
        head, _, attr = text.rpartition("@")
        text = head.rstrip("/") or "."
        if not attr or "/" in attr or "[" in attr:
            raise ConfigError(f"XML path {path!r}: an attribute step is `@name`, and only last")
    node_path = text or "."
    _check(node_path, path)

    def value(node: Any) -> Any:
        return node.get(attr) if attr is not None else node.text

    if many:
        return lambda element: [value(n) for n in element.findall(node_path)]
    if node_path == ".":
        return value

    def first(element: Any) -> Any:
        node = element.find(node_path)
        return None if node is None else value(node)

    return first


def xml_records(path: str) -> Callable[[Any], list[Any]]:
    """The record elements under the document root: ``./permohonan``, ``.//item``; empty means its children."""
    node_path = path.strip() or "*"
    _check(node_path, path)
    return lambda root: [] if root is None else root.findall(node_path)


def xml_reader(paths: Iterable[str]) -> Callable[[Any], dict[str, Any]]:
    """Reads each record element into ``{path: value}`` for every path the spec uses."""
    getters = {p: xml_getter(p) for p in paths}
    return lambda element: {p: get(element) for p, get in getters.items()}


def _check(node_path: str, original: str) -> None:
    from lxml import etree  # the XML streams only: a JSON agency's process never loads lxml

    try:
        etree.Element("probe").findall(node_path)
    except (SyntaxError, KeyError, etree.LxmlError) as exc:
        raise ConfigError(f"XML path {original!r} is not a valid ElementPath ({exc}); see "
                          f"mpp_bus.declarative.paths for the syntax") from None
