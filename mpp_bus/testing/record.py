"""Recording an adapter's agency responses, for the conformance kit's offline mode.

The recorder makes the same reads as the kit (``scenarios.exercise``) through a recording transport and writes the
responses to a JSON file. Request bodies are kept only as a digest with passwords, nonces and client secrets taken
out; OAuth2 tokens in responses are replaced. The bodies are the agency's payloads: record against a test system
with synthetic people, never production.

Example (against the mock agencies)::

    from mpp_bus.testing import record

    with MockAgencies(seed=11, applications=120) as mocks:
        record(lambda session: TaxAdapter.from_instance(instance(mocks.urls["tax"]), {"password": "djp-rahasia"},
                                                        session=session),
               Path("tests/recorded/tax.json"))

``build`` takes the session the recorder passes in (``session=``); ``AdapterConformance.build_for(url)`` is one.

``transport`` replaces the network (a ``FunctionTransport`` over a fake agency function, as ``mpp-bus
new-adapter`` does for the example it generates).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from requests.adapters import BaseAdapter

from mpp_bus.testing.pseudonym import pseudonymise
from mpp_bus.testing.scenarios import SessionBuild, exercise, limited
from mpp_bus.testing.transport import Cassette, RecordingTransport, session_for


def record(build: SessionBuild, path: Path, *, transport: BaseAdapter | None = None,
           streams: Sequence[str] | None = None, max_records: int | None = None, redact: bool = False,
           agency: str | None = None) -> Cassette:
    """Run the kit's reads through the network (or ``transport``) and save every response to ``path``.

    ``streams`` records only those streams; ``max_records`` stops every read after the page that reaches that many
    records (the recording says so, and the kit replays it with the same cap); ``redact`` replaces personal values
    by consistent valid stand-ins (``mpp_bus.testing.pseudonym``); ``agency`` is the instance id that
    ``mpp-bus record`` was given, named when a replay misses a request."""
    if max_records is not None and max_records < 1:
        raise ValueError("max_records must be at least 1")
    cassette = Cassette(streams=None if streams is None else list(streams), max_records=max_records,
                        redacted=redact, agency=agency)
    recorder = RecordingTransport(cassette, transport)
    build = limited(build, streams, max_records)
    check, runs = exercise(lambda: build(session=session_for(recorder)))
    with build(session=session_for(recorder)) as adapter:
        cassette.adapter = adapter.name
    if not check.ok:
        raise RuntimeError(f"not recorded: check() failed: {check.message}")
    if not runs:
        raise RuntimeError("not recorded: the adapter offers none of the streams asked for")
    if redact:
        cassette.interactions = pseudonymise(cassette.interactions)
    cassette.save(path)
    return cassette
