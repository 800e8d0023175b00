"""The one hardened XML parser of the SDK, shared by the SOAP client and ``HttpClient``'s XML reads.

An agency's XML is parsed with DTDs, entity expansion and network access off, and its size capped before any parser
sees it: a DTD is refused outright (entities, billion laughs and external references are only declared there), and
lxml's own limits would otherwise surface as an ordinary "invalid XML", which is retried.

    a DTD or entity declarations    -> FatalError (refused; report it to the agency)
    truncated or invalid XML        -> RetriableError
    a body larger than the cap      -> FatalError
"""

from __future__ import annotations

import re

from lxml import etree

from mpp_bus.errors import FatalError, RetriableError

# The same bound as one HTTP response (mpp_bus.transport.http.MAX_RESPONSE_BYTES).
MAX_XML_BYTES = 64 * 1024 * 1024

SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

# The prolog of an XML document: BOM, declaration, comments, processing instructions, then maybe a DOCTYPE. The
# prolog is atomic: without that, a body with no DTD made the lazy ``.*?`` search the whole body for another ``?>``
# (14 ms on a page of 1,000 SOAP records, more than parsing it).
_DOCTYPE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?>(?:<\?.*?\?>\s*|<!--.*?-->\s*)*)<!DOCTYPE", re.S)


def refuse_doctype(content: bytes, *, agency: str, what: str) -> None:
    """Refuse XML with a DTD before any parser sees it."""
    if _DOCTYPE.match(content):
        raise FatalError(f"{what}: the agency's XML declares a DTD or entities, which the bus refuses to parse; "
                         f"report it to the agency", agency=agency)


def parse_xml(content: bytes, *, agency: str = "", what: str = "XML", max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """The root element of an agency's XML document, parsed safely (see the module docstring)."""
    if len(content) > max_bytes:
        raise FatalError(f"{what}: the XML body is larger than {max_bytes:,} bytes; lower the page size or report "
                         f"it to the agency", agency=agency)
    refuse_doctype(content, agency=agency, what=what)
    try:
        root = etree.fromstring(content, parser=SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise RetriableError(f"{what}: the response is not valid XML (truncated?); retry", agency=agency) from exc
    if root.getroottree().docinfo.doctype:  # belt and braces: a DOCTYPE the prolog pattern did not see
        raise FatalError(f"{what}: the agency's XML declares a DTD or entities, which the bus refuses to parse; "
                         f"report it to the agency", agency=agency)
    return root
