"""Alerting the Airflow way: notifiers that e-mail an admin when an agency fails or its data goes stale.

Each sync DAG's tasks carry ``MppFailureNotifier`` as ``on_failure_callback`` (Airflow calls it once a task has
failed for good, not on each retry); the report task sends staleness alerts through ``MppStaleNotifier``. Both ask
the store first (``Store.raise_alert``), so one agency raises one alert per outage, however many retries, runs or
report refreshes see it; a successful run (or fresh data) resolves it and the next outage alerts again.

Mail goes out over SMTP (``smtplib``) to the server in the Connection ``mpp_alerts_smtp`` (or
``AIRFLOW_CONN_MPP_ALERTS_SMTP``)::

    {"conn_type": "smtp", "host": "mail.example.go.id", "port": 587, "login": "mpp-bus", "password": "...",
     "extra": {"from": "mpp-bus@example.go.id", "to": "ops@example.go.id, oncall@example.go.id", "starttls": true}}

Without that Connection the notifiers log the alert and send nothing. Messages name the agency, the failing stream,
the error class and what to do; never a NIK, a name or a credential.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from airflow.sdk import BaseNotifier

from mpp_bus.config import Connection
from mpp_bus.privacy import redact_text

ALERTS_CONNECTION_ID = "mpp_alerts_smtp"
FAILURE, STALE = "failure", "stale"

# What an admin should do, by the class of error that failed the task.
ADVICE = {
    "AuthError": "the agency refused our credentials: fix the login and password in the agency's Connection "
                 "(Admin -> Connections), then clear the failed task",
    "Maintenance": "the agency announced maintenance: nothing to fix on our side; the next scheduled run catches up "
                   "(ask the agency if the window is longer than announced)",
    "RateLimitedError": "the agency asked us to slow down: lower the agency's pool slots or page size, or ask the "
                        "agency for a higher limit",
    "RetriableError": "the agency is down or failing: check that it is up and reachable from the workers, or ask "
                      "the agency; the next scheduled run retries",
    "CircuitOpenError": "the breaker opened after repeated failures: check the agency's health (`mpp-bus check`), "
                        "the breaker lets a trial run through by itself",
    "FatalError": "the agency refused our request: check the agency's config (base URL, tenant) in the agencies "
                  "file, or report it to the agency",
    "ConfigError": "the bus's configuration is wrong: fix the agency's entry in the agencies file or its Connection",
    "QuarantineThresholdExceeded": "too many records were quarantined: read the reasons (`mpp-bus quarantine list`), "
                                   "fix the mapping or ask the agency to fix its data, then clear the task",
    "SyncLockedError": "another sync of this agency stream is still running: wait for it, or check for a stuck worker",
}
DEFAULT_ADVICE = "open the log of the failed task: its last line says what failed and what to do"


def advice_for(error_class: str) -> str:
    return ADVICE.get(error_class, DEFAULT_ADVICE)


@dataclass(frozen=True)
class SmtpTarget:
    """Where alert mail goes: an SMTP server, its credentials, the sender and the recipients."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    login: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_connection(cls, conn: Connection | None) -> SmtpTarget | None:
        """From an Airflow Connection (as the bus reads them); None when missing or without recipients."""
        if not conn or not conn.get("host"):
            return None
        extra = conn.get("extra") or {}
        to = extra.get("to") or ""
        recipients = tuple(r.strip() for r in (to.split(",") if isinstance(to, str) else to) if r.strip())
        if not recipients:
            return None
        starttls = extra.get("starttls", False)
        return cls(
            host=str(conn["host"]), port=int(conn.get("port") or 25),
            sender=str(extra.get("from") or "mpp-bus@localhost"),
            recipients=recipients, login=conn.get("login"), password=conn.get("password"),
            starttls=starttls if isinstance(starttls, bool) else str(starttls).lower() in ("1", "true", "yes"),
            timeout=float(extra.get("timeout", 10.0)),
        )


def send_mail(target: SmtpTarget, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(target.host, target.port, timeout=target.timeout) as smtp:
        if target.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if target.login and target.password:
            smtp.login(target.login, target.password)
        smtp.send_message(message)


@dataclass(frozen=True)
class Alert:
    """One alert about one agency, in words."""

    agency_id: str
    agency_name: str
    kind: str
    stream: str | None
    error_class: str
    detail: str
    advice: str

    @property
    def subject(self) -> str:
        what = "stale data" if self.kind == STALE else f"{self.stream or 'sync'} failed ({self.error_class})"
        return f"[mpp-bus] {self.agency_name} ({self.agency_id}): {what}"

    @property
    def body(self) -> str:
        return (
            f"Agency: {self.agency_name} ({self.agency_id})\n"
            f"Stream: {self.stream or '-'}\n"
            f"Error class: {self.error_class}\n"
            f"What happened: {redact_text(self.detail)}\n"
            f"What to do: {self.advice}\n\n"
            f"DAG: mpp_sync__{self.agency_id}. This alert is sent once; the next one comes only after the agency "
            f"recovered and failed again.\n"
        )


class _StoreNotifier(BaseNotifier):
    """Sends an ``Alert`` once per open alert, as the store decides."""

    def __init__(self, *, agencies_file: str | None = None, connection_id: str = ALERTS_CONNECTION_ID) -> None:
        super().__init__()
        self.agencies_file = agencies_file
        self.connection_id = connection_id

    def deliver(self, store: Any, alert: Alert, *, now: datetime | None = None) -> bool:
        """Open the alert in the store and mail it if it was not open already; True when mailed (or logged)."""
        if not store.raise_alert(alert.agency_id, alert.kind, alert.subject, now=now or datetime.now(UTC)):
            self.log.info("alert already open for agency %s (%s); not sent again", alert.agency_id, alert.kind)
            return False
        from mpp_bus.airflow.operators import task_connection

        target = SmtpTarget.from_connection(task_connection(self.connection_id))
        if target is None:
            self.log.warning("%s (no Connection %s with recipients: not mailed)\n%s", alert.subject,
                             self.connection_id, alert.body)
            return True
        send_mail(target, alert.subject, alert.body)
        self.log.info("alert mailed to %d recipient(s): %s", len(target.recipients), alert.subject)
        return True


class MppFailureNotifier(_StoreNotifier):
    """``on_failure_callback`` of a sync DAG's tasks: one alert per agency outage, naming the stream and the error.

    Example::

        MppSyncOperator(..., on_failure_callback=MppFailureNotifier(agency_id="djp", agency_name="DJP"))
    """

    def __init__(self, *, agency_id: str, agency_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agency_id = agency_id
        self.agency_name = agency_name

    def notify(self, context: Any) -> None:
        from mpp_bus.airflow.operators import build_bus

        alert = failure_alert(self.agency_id, self.agency_name, context)
        bus = build_bus(self.agencies_file)
        try:
            self.deliver(bus.store, alert)
        finally:
            bus.store.dispose()


def failure_alert(agency_id: str, agency_name: str, context: Any) -> Alert:
    """The alert for a failed task, from its Airflow context (task id, exception)."""
    ti = context.get("ti") or context.get("task_instance")
    task_id = str(getattr(ti, "task_id", "") or "")
    stream = task_id.removeprefix("sync_") if task_id.startswith("sync_") else task_id or None
    exc = context.get("exception")
    error_class = error_class_of(exc)
    detail = str(exc) if exc is not None else "the task failed"
    return Alert(agency_id, agency_name, FAILURE, stream, error_class, detail, advice_for(error_class))


def error_class_of(exc: BaseException | None) -> str:
    """The class an admin acts on: the bus's own error behind Airflow's wrapper, or what the operator recorded."""
    if exc is None:
        return "unknown"
    recorded = getattr(exc, "error_class", None)
    if isinstance(recorded, str) and recorded:
        return recorded
    cause = exc.__cause__
    while cause is not None and getattr(cause, "__module__", "").startswith("airflow"):
        cause = cause.__cause__
    chosen = cause if cause is not None else exc
    if getattr(chosen, "maintenance", False):
        return "Maintenance"
    return type(chosen).__name__


class MppStaleNotifier(_StoreNotifier):
    """Staleness alerts, sent by the report task: one per agency whose data is older than its freshness limit."""

    def notify(self, context: Any) -> None:  # the report task calls ``send_stale`` with what it found
        raise NotImplementedError("MppStaleNotifier is driven by the report task (send_stale)")

    def send_stale(self, store: Any, stale: list[tuple[str, str, float | None, float | None]],
                   fresh: list[str], *, now: datetime | None = None) -> int:
        """Alert each newly stale agency (id, name, age, limit) once; resolve agencies fresh again. Returns mails."""
        now = now or datetime.now(UTC)
        sent = 0
        for agency_id, name, age, limit in stale:
            age_text = f"{age / 3600:.1f} h old" if age is not None else "never synced"
            limit_text = f"; its freshness limit is {limit / 3600:.1f} h" if limit is not None else ""
            alert = Alert(agency_id, name, STALE, None, "Stale",
                          f"the agency's newest successful sync is {age_text}{limit_text}",
                          "open the agency's DAG (mpp_sync__" + agency_id + ") and its last failed task; "
                          "fix the cause there, and the next successful run clears this alert")
            sent += self.deliver(store, alert, now=now)
        for agency_id in fresh:
            store.resolve_alert(agency_id, STALE, now=now)
        return sent
