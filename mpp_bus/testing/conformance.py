"""The adapter conformance kit: a pytest suite an adapter's test module turns on in a few lines.

Example (offline, against recorded responses)::

    from mpp_bus.testing import AdapterConformance

    class TestTaxConformance(AdapterConformance):
        adapter_type = TaxAdapter
        connection = {"password": "djp-rahasia"}
        recorded = Path(__file__).parent / "recorded" / "tax.json"
        agency_statuses = [10, 20, 25, 30, 40, 50, 60, 90]

        def instance(self, url):
            return AgencyInstance(id="kit-tax", adapter="tax", name="DJP", level="pusat", page_size=self.page_size,
                                  config={"base_url": url})

Live against an endpoint: set ``mode = "live"`` and override the class-scoped fixture ``agency_url``.

What it checks: identity and a valid config JSON Schema with secrets as ``SecretStr``; ``check()`` answers, also for
an agency that is down; each stream yields records valid against the canonical JSON Schemas, with ids present,
unique and owned by the instance; cursors are JSON; the status mapping covers every agency status; an incremental read
resumed from its first page's cursor has no gap and no repeat, and a read from the high water mark brings nothing
new (a record of the cursor's last instant may come again, byte-identical: the keyset rule re-delivers what it cannot
tell unchanged rather than risk skipping a change); a rerun through the sync engine is idempotent; no clear NIK
leaves the adapter except in the one field the contract allows (``applicant_nik``): not in other fields, rejects,
cursors, messages, logs or the store; a down agency raises a typed, located error.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from jsonschema import Draft202012Validator
from pydantic import SecretStr
from pydantic_core import to_jsonable_python
from requests.adapters import BaseAdapter

from mpp_bus.canonical.schema import schema_errors
from mpp_bus.canonical.status import Status
from mpp_bus.config.agencies import AgencyInstance
from mpp_bus.contract import STREAM_ENTITY, Adapter, AdapterConfig, CheckResult, Page, StreamName, SyncMode
from mpp_bus.errors import AdapterError, RetriableError
from mpp_bus.testing.guard import no_network
from mpp_bus.testing.scenarios import SessionBuild, StreamRun, exercise, limited, read_all
from mpp_bus.testing.transport import UNREACHABLE_HOST, Cassette, ReplayTransport, session_for
from mpp_bus.transport.paging import INCLUSIVE_SECONDS, RESOLUTIONS, SinceFilter

NIK_RUN = re.compile(r"(?<!\d)\d{16}(?!\d)")
ID_FIELD = {StreamName.CATALOG: "code", StreamName.APPLICATIONS: "application_id"}
NIK_FIELDS = {StreamName.APPLICATIONS: {"applicant_nik"}}  # where the contract lets a clear NIK out
RECORDED_URL = "http://agency.recorded"
SECRET_NAMES = re.compile(r"(secret|password|api_?key|token)", re.I)
STREAMS = list(StreamName)


def _records(pages: Sequence[Page]) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


# The reason ``StatusMapping`` gives a record whose code it does not know (the code is written with repr()).
_UNKNOWN_STATUS = re.compile(r"unknown agency status code (['\"])(.*?)\1")


def served_statuses(pages: Sequence[Page]) -> Counter[str]:
    """Every raw status the agency served in ``pages``, with how often: those of the records that mapped and those
    of the records rejected for an unknown status code (the ones a coverage check must not miss)."""
    served: Counter[str] = Counter(str(r["agency_status"]) for r in _records(pages) if "agency_status" in r)
    for page in pages:
        for reject in page.rejects:
            found = _UNKNOWN_STATUS.search(reject.reason)
            if found:
                served[found.group(2)] += 1
    return served


class AdapterConformance:
    """Subclass it in a test module; set the class attributes and ``instance(url)``."""

    adapter_type: ClassVar[type[Adapter[Any]]]
    connection: ClassVar[dict[str, Any] | None] = None
    mode: ClassVar[str] = "recorded"  # or "live"
    recorded: ClassVar[Path | None] = None
    agency_statuses: ClassVar[Sequence[object]] = ()  # every status code the agency documents
    page_size: ClassVar[int] = 25
    expect_rejects: ClassVar[bool] = False  # clean test data maps without a reject
    # How the agency's "changed since T" filter behaves, as its documentation says (None: not documented, the
    # boundary check is skipped). Checked against what the adapter declares (``since:`` in a spec).
    agency_since: ClassVar[SinceFilter | None] = None

    def instance(self, url: str) -> AgencyInstance:
        """The agency instance to test, its base URL (or WSDL URL) built on ``url``."""
        raise NotImplementedError("set instance(url) in the conformance test class")

    # --- fixtures ------------------------------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def agency_url(cls) -> str:
        """Where the agency is: a placeholder in recorded mode; override it (a class-scoped classmethod fixture) in
        live mode."""
        if cls.mode == "live":
            raise NotImplementedError("live mode: override the class-scoped fixture `agency_url`")
        return RECORDED_URL

    @classmethod
    def agency_transport(cls) -> BaseAdapter | None:
        """Offline: a transport that answers every request from the recording. Live: None (the network)."""
        if cls.mode == "live":
            return None
        if cls.mode != "recorded":
            raise ValueError(f"unknown conformance mode {cls.mode!r}; known modes: live, recorded")
        if cls.recorded is None:
            raise NotImplementedError("recorded mode: set `recorded` to the recorded responses file")
        return ReplayTransport(Cassette.load(cls.recorded))

    @classmethod
    def recording(cls) -> Cassette | None:
        """The recording replayed offline (None live): it says whether it holds some streams only or capped reads."""
        if cls.mode != "recorded" or cls.recorded is None or not cls.recorded.exists():
            return None  # not recorded yet: ``build_for`` may be the build the recorder is given
        return Cassette.load(cls.recorded)

    @classmethod
    def capped(cls) -> bool:
        """Whether the reads were recorded up to ``max_records`` only (``mpp-bus record --max-records``): the checks
        then compare against what was recorded instead of asking for the page after the cap."""
        recording = cls.recording()
        return recording is not None and recording.max_records is not None

    @classmethod
    @contextmanager
    def transport(cls) -> Iterator[None]:
        """Offline: real connections fail (the adapters are built on the recording, see ``build_for``). Live: the
        network."""
        if cls.mode == "live":
            yield
            return
        with no_network():
            yield

    @classmethod
    def build_for(cls, url: str) -> SessionBuild:
        """A function that builds a fresh adapter on ``url`` (as a new process would), on the session it is given
        (``session=``, e.g. the recorder's) or else on the agency's transport (``agency_transport``): the adapters
        one function builds share one replay of the recording, which serves each request's answers in order."""
        instance = cls().instance(url)
        replay: list[BaseAdapter | None] = []  # loaded on the first build without a session: a recorder needs none
        recording = cls.recording() if url == RECORDED_URL else None

        def build(*, session: requests.Session | None = None) -> Adapter[Any]:
            if session is None:
                if not replay:
                    replay.append(cls.agency_transport())
                session = None if replay[0] is None else session_for(replay[0])
            options = {} if session is None else {"session": session}
            return cls.adapter_type.from_instance(instance, cls.connection, **options)

        if recording is not None:  # replay as it was recorded: the same streams, each read capped the same way
            return limited(build, recording.streams, recording.max_records)
        return build

    @pytest.fixture
    def build(self, agency_url: str) -> Any:
        return self.build_for(agency_url)

    @pytest.fixture(autouse=True)
    def _routed(self) -> Iterator[None]:
        with self.transport():
            yield

    @pytest.fixture(scope="class")
    @classmethod
    def exercised(cls, agency_url: str) -> tuple[CheckResult, dict[StreamName, StreamRun]]:
        with cls.transport():
            return exercise(cls.build_for(agency_url))

    @pytest.fixture
    def offered(self, build: Any) -> dict[StreamName, Any]:
        with build() as adapter:
            return {s.name: s for s in adapter.streams()}

    def run_of(self, exercised: Any, offered: dict[StreamName, Any], stream: StreamName) -> StreamRun:
        if stream not in offered:
            pytest.skip(f"the adapter does not offer {stream.value}")
        return exercised[1][stream]

    # --- identity and config -------------------------------------------------------------------------------------

    def test_identity_is_declared(self) -> None:
        cls = self.adapter_type
        for attr in ("name", "version", "wraps"):
            assert isinstance(getattr(cls, attr, None), str) and getattr(cls, attr), f"declare `{attr}`"
        assert re.fullmatch(r"\d+\.\d+\.\d+", cls.version), "version is semantic: MAJOR.MINOR.PATCH"
        assert issubclass(cls.config_model, AdapterConfig)

    def test_config_schema_is_valid_json_schema(self) -> None:
        schema = self.adapter_type.config_model.model_json_schema()
        Draft202012Validator.check_schema(schema)
        assert schema.get("additionalProperties") is False, "unknown config keys must be refused (extra=forbid)"

    def test_credentials_are_secret(self) -> None:
        for name, f in self.adapter_type.config_model.model_fields.items():
            if SECRET_NAMES.search(name):
                assert f.annotation in (SecretStr, SecretStr | None), f"config field `{name}` must be a SecretStr"

    def test_config_from_the_instance_validates(self, build: Any) -> None:
        with build() as adapter:
            assert isinstance(adapter.config, self.adapter_type.config_model)

    def test_secrets_never_show_in_a_repr(self, build: Any) -> None:
        with build() as adapter:
            text = f"{adapter.config!r} {adapter.config} {vars(adapter)!r}"
            secrets = [v.get_secret_value() for v in vars(adapter.config).values() if isinstance(v, SecretStr)]
        assert all(s not in text for s in secrets if s)

    # --- check ---------------------------------------------------------------------------------------------------

    def test_check_answers(self, exercised: Any) -> None:
        check = exercised[0]
        assert isinstance(check, CheckResult)
        assert check.ok, check.message
        assert check.latency_ms is not None

    def test_check_of_an_agency_that_is_down_answers_without_raising(self) -> None:
        with self.build_for(f"http://{UNREACHABLE_HOST}")() as adapter:
            result = adapter.check()
        assert not result.ok and result.message

    def test_read_of_an_agency_that_is_down_raises_a_typed_located_error(self, offered: Any) -> None:
        stream = next(iter(offered))
        with pytest.raises(RetriableError) as info:
            read_all(self.build_for(f"http://{UNREACHABLE_HOST}"), stream)
        assert isinstance(info.value, AdapterError) and info.value.agency

    # --- streams and records -------------------------------------------------------------------------------------

    def test_streams_are_declared(self, offered: dict[StreamName, Any]) -> None:
        assert offered, "offer at least one stream"
        for spec in offered.values():
            assert spec.name in STREAM_ENTITY
            if spec.mode is SyncMode.INCREMENTAL:
                assert spec.cursor_field, f"incremental stream {spec.name} declares its cursor field"

    @pytest.mark.parametrize("stream", STREAMS)
    def test_stream_yields_records(self, exercised: Any, offered: Any, stream: StreamName) -> None:
        assert _records(self.run_of(exercised, offered, stream).pages), f"{stream.value} yielded no record"

    @pytest.mark.parametrize("stream", STREAMS)
    def test_records_are_valid_canonical_json(self, exercised: Any, offered: Any, stream: StreamName) -> None:
        entity = STREAM_ENTITY[stream]
        for record in _records(self.run_of(exercised, offered, stream).pages):
            assert schema_errors(entity, to_jsonable_python(record)) == []

    @pytest.mark.parametrize("stream", STREAMS)
    def test_records_have_ids_and_belong_to_the_instance(self, exercised: Any, offered: Any,
                                                         stream: StreamName, agency_url: str) -> None:
        agency_id = self.instance(agency_url).id
        for record in _records(self.run_of(exercised, offered, stream).pages):
            assert record.get(ID_FIELD[stream]), f"a {stream.value} record without `{ID_FIELD[stream]}`"
            assert record["agency_id"] == agency_id

    @pytest.mark.parametrize("stream", STREAMS)
    def test_record_ids_are_unique_in_a_read(self, exercised: Any, offered: Any, stream: StreamName) -> None:
        ids = [r[ID_FIELD[stream]] for r in _records(self.run_of(exercised, offered, stream).pages)]
        assert len(ids) == len(set(ids))

    @pytest.mark.parametrize("stream", STREAMS)
    def test_clean_data_maps_without_rejects(self, exercised: Any, offered: Any, stream: StreamName) -> None:
        rejects = [j for p in self.run_of(exercised, offered, stream).pages for j in p.rejects]
        if not self.expect_rejects:
            assert rejects == [], [j.reason for j in rejects[:3]]
        for j in rejects:
            assert j.reason and not NIK_RUN.search(j.reason)

    @pytest.mark.parametrize("stream", STREAMS)
    def test_cursors_are_json(self, exercised: Any, offered: Any, stream: StreamName) -> None:
        for page in self.run_of(exercised, offered, stream).pages:
            assert page.cursor is None or json.loads(json.dumps(page.cursor)) == page.cursor

    # --- status mapping ------------------------------------------------------------------------------------------

    def test_status_mapping_is_declared_and_canonical(self, build: Any, offered: Any) -> None:
        if StreamName.APPLICATIONS not in offered:
            pytest.skip("no applications stream")
        with build() as adapter:
            mapping = adapter.status_mapping
        assert mapping is not None, "declare `status_mapping` (a StatusMapping table, versioned as data)"
        assert mapping.table and all(isinstance(v, Status) for v in mapping.table.values())

    def test_status_mapping_covers_every_agency_status(self, build: Any, exercised: Any, offered: Any) -> None:
        if StreamName.APPLICATIONS not in offered:
            pytest.skip("no applications stream")
        with build() as adapter:
            mapping = adapter.status_mapping
        assert mapping is not None, "declare `status_mapping` (a StatusMapping table, versioned as data)"
        served = served_statuses(exercised[1][StreamName.APPLICATIONS].pages)
        unmapped = {code: served[code] for code in mapping.missing(served)}
        assert not unmapped, (
            f"the agency served {len(unmapped)} status code(s) that {mapping.source} does not map: "
            + ", ".join(f"{code!r} ({n} record{'s' if n != 1 else ''})" for code, n in sorted(unmapped.items()))
            + "; add each under `statuses:` (or `aliases:`)")
        undocumented = mapping.missing(self.agency_statuses)
        assert not undocumented, (f"map every status the agency documents: {mapping.source} lacks "
                                  f"{', '.join(repr(c) for c in undocumented)}")

    # --- incremental reads ---------------------------------------------------------------------------------------

    def _incremental(self, exercised: Any, offered: Any, stream: StreamName) -> StreamRun:
        run = self.run_of(exercised, offered, stream)
        if offered[stream].mode is not SyncMode.INCREMENTAL:
            pytest.skip(f"{stream.value} is a full stream")
        return run

    @pytest.mark.parametrize("stream", STREAMS)
    def test_resume_from_a_cursor_has_no_gap_and_no_repeat(self, exercised: Any, offered: Any,
                                                           stream: StreamName) -> None:
        run = self._incremental(exercised, offered, stream)
        assert run.resumed_first is not None
        assert len(run.pages) >= 2, "test data must span several pages: lower `page_size`"
        key = ID_FIELD[stream]
        first, rest = run.resumed_first.records, _records(run.resumed_rest)
        before = {r[key] for r in first}
        assert _not_replays([r for r in rest if r[key] in before], first, key) == [], \
            "a record came twice after resuming, changed or from before the cursor's last instant"
        resumed = [r[key] for r in first] + [r[key] for r in rest if r[key] not in before]
        whole = [r[key] for r in _records(run.pages)]
        assert len(resumed) == len(set(resumed)), "a record came twice after resuming"
        if self.capped():  # the resumed read goes on past the recorded cap: it must hold the capped read, no less
            lost = set(whole) - set(resumed)
            assert not lost, f"{len(lost)} record(s) of the capped read were lost by resuming"
        else:
            assert set(resumed) == set(whole), "records were lost (or invented) by resuming"

    @pytest.mark.parametrize("stream", STREAMS)
    def test_read_from_the_high_water_mark_brings_nothing_new(self, exercised: Any, offered: Any,
                                                              stream: StreamName) -> None:
        run = self._incremental(exercised, offered, stream)
        after = _records(run.after_high_water)
        if self.capped():  # the cap's cursor is not the high water: newer records follow, but none read before
            delivered = {r[ID_FIELD[stream]] for r in _records(run.pages)}
            after = [r for r in after if r[ID_FIELD[stream]] in delivered]
        assert _not_replays(after, _records(run.pages), ID_FIELD[stream]) == []
        assert run.after_high_water and run.after_high_water[-1].cursor, "the cursor survives an empty read"

    def declared_since(self, adapter: Adapter[Any], stream: StreamName) -> SinceFilter:
        """The "changed since" filter the adapter believes the agency has: a declarative stream's ``since:``, else
        what ``Keyset`` assumes (inclusive, to the second). Override it for an adapter that keeps it elsewhere."""
        compiled = getattr(adapter, "compiled", None) or {}
        for name, compiled_stream in dict(compiled).items():
            if StreamName(name) is stream and isinstance(getattr(compiled_stream, "since_filter", None), SinceFilter):
                return compiled_stream.since_filter  # type: ignore[no-any-return]  # checked just above
        return INCLUSIVE_SECONDS

    @pytest.mark.parametrize("stream", STREAMS)
    def test_a_cursor_inside_one_unit_of_the_since_filter_loses_and_repeats_nothing(
            self, exercised: Any, offered: Any, build: Any, stream: StreamName) -> None:
        """The recorded records rarely have two changes in one unit of the agency's filter (one minute, one day), so
        this check makes them: it takes the records around the first page boundary of the recorded read, gives
        several of them times inside one unit, resumes from a cursor in the middle of that unit and asks the
        agency's documented filter (``agency_since``) what it serves for the time the adapter sends
        (``declared_since(...).query_time``). Nothing changed later in the unit may be withheld, nothing from
        before the unit served again."""
        run = self._incremental(exercised, offered, stream)
        if self.agency_since is None:
            pytest.skip("set `agency_since` (the agency's documented \"changed since\" filter) to check the boundary")
        truth = self.agency_since
        with build() as adapter:
            declared = self.declared_since(adapter, stream)
        key = ID_FIELD[stream]
        recorded = [r for r in _records(run.pages) if r.get("source_updated_at") is not None]
        assert len(recorded) >= 4, "the boundary check needs at least four recorded records with an update time"
        boundary = min(len(run.pages[0].records), len(recorded) - 2)
        around = recorded[max(0, boundary - 2):boundary + 2]
        moment = _as_datetime(around[0]["source_updated_at"])
        unit = RESOLUTIONS[truth.resolution]
        start = _floor(moment, truth)
        # Several records inside one unit, in the agency's (time, id) order: spread over the unit.
        step = unit / (len(around) + 1)
        inside = sorted(((start + step * (i + 1), str(r[key])) for i, r in enumerate(around)))
        before = (start - unit / 2, "kit-before-the-unit")
        cursor_at = len(inside) // 2 - 1  # the cursor stands on a record in the middle of the unit
        cursor_time = inside[cursor_at][0]
        sent = declared.query_time(cursor_time)

        def served(changed: datetime) -> bool:
            at, since = _floor(changed, truth), _floor(sent, truth)
            return at >= since if truth.inclusive else at > since

        after_cursor = [i for t, i in inside[cursor_at + 1:] if not served(t)]
        what = (f"the agency's filter is {'inclusive' if truth.inclusive else 'exclusive'} at {truth.resolution} "
                f"resolution; the adapter declares {'inclusive' if declared.inclusive else 'exclusive'} at "
                f"{declared.resolution} resolution and, resuming at {cursor_time.isoformat()}, sends "
                f"{sent.isoformat()}")
        fix = (f"declare the filter as the agency behaves: `since: {{inclusive: {str(truth.inclusive).lower()}, "
               f"resolution: {truth.resolution}}}` in the stream's spec (or the adapter's SinceFilter)")
        assert not after_cursor, (f"{len(after_cursor)} record(s) changed later within the cursor's "
                                  f"{truth.resolution} would be lost on resuming ({', '.join(after_cursor)}): "
                                  f"{what}; {fix}")
        assert not served(before[0]), (f"records changed before the cursor's {truth.resolution} would come again "
                                       f"on resuming: {what}; {fix}")

    # --- the sync engine -----------------------------------------------------------------------------------------

    @pytest.fixture
    def engine(self, tmp_path: Path) -> Any:
        from mpp_bus.engine import SyncEngine
        from mpp_bus.privacy import NikHasher
        from mpp_bus.store import create_store

        store = create_store(f"sqlite:///{tmp_path / 'conformance.db'}", upgrade=True)
        yield SyncEngine(store, NikHasher(b"conformance-kit-nik-secret-0123456789"))
        store.dispose()

    @pytest.mark.parametrize("stream", STREAMS)
    def test_rerun_is_idempotent(self, engine: Any, build: Any, offered: Any, stream: StreamName) -> None:
        if stream not in offered:
            pytest.skip(f"the adapter does not offer {stream.value}")
        first = engine.sync(build(), stream)
        assert first.ok, f"the first sync of {stream.value} failed: {first.error}"
        assert first.stored > 0, f"the first sync of {stream.value} stored nothing (read {first.read})"
        if not self.expect_rejects:
            assert first.quarantined == 0, (f"the first sync of {stream.value} quarantined {first.quarantined} "
                                            "record(s); see their reasons, or set `expect_rejects = True`")
        before = engine.store.content_counts()
        again = engine.sync(build(), stream)
        reruns = [("an incremental rerun", again)]
        if self.capped():  # from a capped read's cursor the records after the cap come, new: compare from there
            assert again.ok, f"an incremental rerun of {stream.value} failed: {again.error}"
            before, reruns = engine.store.content_counts(), []
        refreshed = engine.sync(build(), stream, full_refresh=True)
        for name, run in (*reruns, ("a full refresh", refreshed)):
            assert run.ok, f"{name} of {stream.value} failed: {run.error}"
            assert run.stored == 0, (f"{name} of {stream.value} stored {run.stored} record(s) again; expected 0 "
                                     "(the records did not change: is a mapped value unstable, such as a time?)")
            if not self.expect_rejects:
                assert run.quarantined == 0, f"{name} of {stream.value} quarantined {run.quarantined} record(s)"
        assert refreshed.read == first.read, (f"a full refresh of {stream.value} read {refreshed.read} records, the "
                                              f"first sync {first.read}; expected the same")
        after = engine.store.content_counts()
        assert after == before, f"the store changed on a rerun: {before} before, {after} after"

    # --- privacy -------------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("stream", STREAMS)
    def test_no_clear_nik_leaves_the_adapter_outside_its_field(self, build: Any, offered: Any, stream: StreamName,
                                                              caplog: pytest.LogCaptureFixture) -> None:
        if stream not in offered:
            pytest.skip(f"the adapter does not offer {stream.value}")
        caplog.set_level(logging.DEBUG)
        pages = read_all(build, stream)
        allowed = NIK_FIELDS.get(stream, set())
        for record in _records(pages):
            for name, value in to_jsonable_python(record).items():
                if name not in allowed:
                    assert not NIK_RUN.search(json.dumps(value)), f"a NIK-like number in `{name}`"
        for page in pages:
            assert not NIK_RUN.search(json.dumps(page.cursor)), "a NIK-like number in a cursor"
            assert not any(NIK_RUN.search(j.reason) for j in page.rejects)
        assert not NIK_RUN.search(caplog.text), "a NIK-like number in a log line"

    def test_no_clear_nik_reaches_the_store(self, engine: Any, build: Any, offered: Any) -> None:
        if StreamName.APPLICATIONS not in offered:
            pytest.skip("no applications stream")
        niks = {r["applicant_nik"] for r in _records(read_all(build, StreamName.APPLICATIONS))}
        engine.sync(build(), StreamName.APPLICATIONS)
        text = engine.store.stored_text()
        assert niks and not [n for n in niks if n in text]

    def test_close_can_be_called_twice(self, build: Any) -> None:
        adapter = build()
        adapter.close()
        adapter.close()


def _not_replays(again: Sequence[dict[str, Any]], delivered: Sequence[dict[str, Any]], key: str) -> list[str]:
    """Ids in ``again`` that are not a byte-identical copy of a record ``delivered`` at its last instant (the greatest
    ``source_updated_at``): the only records a read from a cursor may bring a second time."""
    times = [r["source_updated_at"] for r in delivered if r.get("source_updated_at") is not None]
    instant = max(times) if times else None
    last = {r[key]: _canonical(r) for r in delivered if instant is not None and r.get("source_updated_at") == instant}
    return [r[key] for r in again if last.get(r[key]) != _canonical(r)]


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _floor(moment: datetime, since: SinceFilter) -> datetime:
    """``moment`` floored to the filter's resolution, as the agency compares it (a day in the agency's zone)."""
    local = moment.astimezone(since.tz)
    if since.resolution == "day":
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif since.resolution == "minute":
        local = local.replace(second=0, microsecond=0)
    else:
        local = local.replace(microsecond=0)
    return local


def _canonical(record: dict[str, Any]) -> str:
    return json.dumps(to_jsonable_python(record), sort_keys=True)
