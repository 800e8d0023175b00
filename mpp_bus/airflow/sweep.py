"""The sweep benchmark: one run of every agency instance's DAG on a real Airflow, and what it cost.

    python -m mpp_bus.airflow bench-sweep --instances 50 [--executor local|celery] [--json]

It starts, on fresh PostgreSQL databases (Airflow's metadata and the portal store, created on ``--postgres`` and
dropped afterwards), the mock agencies (``python -m mock_agencies serve``, a subprocess), Airflow's API server,
scheduler and DAG processor (and Redis and Celery workers for ``celery``), generates ``N`` agency instances pointed
at the mocks, syncs them once from the CLI so that the sweep finds nothing changed (the steady state of an hourly
schedule), triggers one run of every sync DAG through the REST API and waits until all have finished. It reports the
wall time, task instances per minute, CPU seconds per instance by process tree (read from ``/proc/<pid>/stat``,
children included) and the growth of both databases. Everything it starts it stops by PID, also on Ctrl-C or
SIGTERM. The generated instances have no schedule, so only the triggered runs (and the report DAG, scheduled on
their assets) run, beside the outbox watcher's short schedule: with no submission in the store it starts no
dispatch DAG, and its own task instances are listed apart (``watch_outbox``), like the report's.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mpp_bus.airflow.generate import generate_agencies
from mpp_bus.bench.common import stop_on_sigterm
from mpp_bus.errors import MppBusError

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
# The factory's DAG ids, spelled here so the command does not import Airflow into the caller's environment.
DAG_PREFIX = "mpp_sync__"
REPORT_DAG_ID = "mpp_report"
OUTBOX_WATCH_DAG_ID = "mpp_outbox_watch"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
# The mock agencies' credentials, as deploy/airflow-setup.sh sets them; Airflow reads AIRFLOW_CONN_* itself.
MOCK_CONNECTIONS = {
    "AIRFLOW_CONN_MPP_DUKCAPIL": {"conn_type": "generic", "login": "mpp-bus", "password": "dukcapil-rahasia"},
    "AIRFLOW_CONN_MPP_LICENSING": {"conn_type": "generic", "login": "mpp-bus", "password": "oss-rahasia"},
    "AIRFLOW_CONN_MPP_TAX": {"conn_type": "generic", "password": "djp-rahasia"},
}
PROCESS_GROUPS = ("scheduler", "dag_processor", "api_server", "task_processes")
FINISHED = ("success", "failed")
# Tasks of the DAGs that run beside the sweep, not per agency: listed, not counted in its rate.
APART = ("write_report", "watch_outbox")


# deploy/airflow-env.sh's default: at 600 agencies one parse of the DAG file took the DAG processor 6-9 s and storing
# the 1,201 serialized DAGs 20-40 s more; at Airflow's 30 s that kept most of a core busy with nothing changed.
PARSE_INTERVAL = 300


class SweepError(MppBusError):
    """The sweep could not be set up or did not finish; the message names the process and its log."""


@dataclass(frozen=True)
class SweepOptions:
    """What to sweep and on what: the number of instances, the executor and its sizes, the data per instance."""

    instances: int
    executor: str = "local"
    parallelism: int = 8
    workers: int = 2
    worker_concurrency: int = 4
    applications: int = 50
    initial_sync: bool = True
    postgres_url: str = DEFAULT_POSTGRES_URL
    timeout_seconds: float = 1800.0
    keep_logs: Path | None = None
    # Seconds between two parses of the DAG file: the deployment's default (deploy/airflow-env.sh), see there why.
    parse_interval: int = PARSE_INTERVAL


@dataclass
class SweepResult:
    """The figures of one sweep. Per-instance figures divide by ``instances``."""

    instances: int
    executor: str
    parallelism: int
    applications: int
    initial_sync: bool
    startup_s: float
    wall_s: float
    wall_with_report_s: float
    sync_runs: dict[str, int]
    report_runs: int
    task_instances: int
    task_instances_per_minute: float
    cpu_s: dict[str, float]
    db_growth_bytes: dict[str, int]
    tasks: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def cpu_s_per_instance(self) -> dict[str, float]:
        return {k: round(v / self.instances, 3) for k, v in self.cpu_s.items()}

    @property
    def db_growth_bytes_per_instance(self) -> dict[str, int]:
        return {k: round(v / self.instances) for k, v in self.db_growth_bytes.items()}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cpu_s_per_instance"] = self.cpu_s_per_instance
        out["db_growth_bytes_per_instance"] = self.db_growth_bytes_per_instance
        return out


def render_table(result: SweepResult) -> str:
    """The human form of a result: what ran, how long, CPU and database growth in total and per instance."""
    executor = EXECUTORS.get(result.executor, result.executor)
    runs = ", ".join(f"{n} {state}" for state, n in sorted(result.sync_runs.items()))
    data = "nothing changed since an initial sync" if result.initial_sync else "a first sync"
    lines = [
        f"sweep of {result.instances} agency instances, {executor} (parallelism {result.parallelism}), "
        f"{result.applications} applications each, {data}",
        f"{'stack up (not counted)':<34}{result.startup_s:>10.1f} s",
        f"{'wall time until all runs finished':<34}{result.wall_s:>10.1f} s",
        f"{'  with the report DAG':<34}{result.wall_with_report_s:>10.1f} s ({result.report_runs} report runs)",
        f"{'sync runs':<34}{runs:>10}",
        f"{'task instances':<34}{result.task_instances:>10} ({result.task_instances_per_minute:.1f} a minute)",
        "",
        f"{'CPU seconds':<34}{'total':>10}{'per instance':>14}",
    ]
    per = result.cpu_s_per_instance
    for name, value in result.cpu_s.items():
        lines.append(f"{'  ' + name.replace('_', ' '):<34}{value:>10.1f}{per[name]:>14.3f}")
    lines.append("")
    lines.append(f"{'database growth (kB)':<34}{'total':>10}{'per instance':>14}")
    growth = result.db_growth_bytes_per_instance
    for name, value in result.db_growth_bytes.items():
        lines.append(f"{'  ' + name.replace('_', ' '):<34}{value / 1024:>10.0f}{growth[name] / 1024:>14.1f}")
    if result.tasks:
        lines.append("")
        lines.append(f"{'task':<34}{'count':>10}{'mean run s':>14}{'mean wait s':>14}")
        for task_id, row in result.tasks.items():
            lines.append(f"{'  ' + task_id:<34}{row['count']:>10.0f}{row['mean_run_s']:>14.2f}"
                         f"{row['mean_queued_s']:>14.2f}")
    return "\n".join(lines)


# -- CPU by process tree ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcStat:
    """The CPU fields of ``/proc/<pid>/stat``, in clock ticks: own time and that of waited-for children."""

    pid: int
    ppid: int
    own: int
    children: int


def parse_stat(text: str) -> ProcStat:
    """One ``/proc/<pid>/stat`` line; the command name may hold spaces and parentheses, so split after the last ')'."""
    pid = int(text[: text.index(" ")])
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is the state; then ppid, ..., utime (rest[11]), stime, cutime, cstime.
    return ProcStat(pid, int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]))


def read_procs(proc: Path = Path("/proc")) -> dict[int, ProcStat]:
    """Every live process's CPU fields (processes that end while being read are skipped)."""
    out: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue
    return out


def tree_ticks(root: int, procs: Mapping[int, ProcStat]) -> tuple[int, int]:
    """(the root's own ticks, ticks of all its descendants): live ones, and ended ones the tree has waited for."""
    kids: dict[int, list[int]] = {}
    for stat in procs.values():
        kids.setdefault(stat.ppid, []).append(stat.pid)
    if root not in procs:
        return 0, 0
    below = procs[root].children
    stack = list(kids.get(root, []))
    while stack:
        pid = stack.pop()
        below += procs[pid].own + procs[pid].children
        stack.extend(kids.get(pid, []))
    return procs[root].own, below


def cpu_by_group(roots: Mapping[str, list[int]], executor: str, procs: Mapping[int, ProcStat],
                 ticks_per_second: float) -> dict[str, float]:
    """CPU seconds per process group. With the LocalExecutor the task processes are the scheduler's descendants
    (executor workers, supervisors, tasks); with Celery they are the workers' trees."""
    out: dict[str, float] = {}
    for name, pids in roots.items():
        own = below = 0
        for pid in pids:
            o, b = tree_ticks(pid, procs)
            own, below = own + o, below + b
        if name == "scheduler" and executor == "local":
            out["scheduler"] = own / ticks_per_second
            out["task_processes"] = out.get("task_processes", 0.0) + below / ticks_per_second
        elif name == "workers":
            out["task_processes"] = out.get("task_processes", 0.0) + (own + below) / ticks_per_second
        else:
            out[name] = (own + below) / ticks_per_second
    return out


# -- processes --------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Processes started for the sweep, each leading its own session, stopped by PID (and its group) in reverse."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        try:
            process = subprocess.Popen(command, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.started[name] = process
        return process

    def check_alive(self) -> None:
        for name, process in self.started.items():
            if process.poll() is not None:
                raise SweepError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}:\n"
                                 f"{self.tail(name)}")

    def tail(self, name: str, chars: int = 2000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop_all(self) -> None:
        for name in reversed(list(self.started)):
            self.stop(name)

    def stop(self, name: str) -> None:
        process = self.started.pop(name)
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                process.wait(30)
        # Celery pool processes and task processes live in the group: make sure none outlives its leader.
        _signal_group(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


# -- databases --------------------------------------------------------------------------------------------------

class Databases:
    """Throw-away databases on one PostgreSQL server: created, measured, dropped.

    These are Airflow's metadata database and a scratch portal store, not the bus's store, so the sweep talks to the
    server with psycopg directly (administrative statements only) rather than through the store's tables."""

    def __init__(self, server_url: str) -> None:
        import psycopg
        from psycopg.conninfo import make_conninfo

        self._psycopg = psycopg
        self.url = _libpq_url(server_url)
        self.conninfo = make_conninfo(self.url, connect_timeout=5)
        self.names: list[str] = []

    def _admin(self) -> Any:
        return self._psycopg.connect(self.conninfo, autocommit=True)

    def create(self, name: str) -> str:
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return _with_database(self.url, name)

    def size(self, name: str) -> int:
        with self._admin() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
        return int(row[0]) if row else 0

    def drop_all(self) -> None:
        with self._admin() as conn:
            for name in reversed(self.names):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.names.clear()


def _libpq_url(url: str) -> str:
    """A SQLAlchemy-style URL (``postgresql+psycopg://...``) as libpq takes it (``postgresql://...``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def _with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``, in the SQLAlchemy form Airflow and the store take."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", parts.query, ""))


# -- the sweep --------------------------------------------------------------------------------------------------

def write_sweep_agencies(path: Path, count: int, urls: Mapping[str, str]) -> set[str]:
    """The generated instances pointed at the mocks, without a schedule (the sweep triggers them); their queues."""
    doc = generate_agencies(count, licensing_url=urls["licensing"], dukcapil_wsdl_url=urls["dukcapil"] +
                            "/ws/dukcapil?wsdl", tax_url=urls["tax"])
    doc["defaults"]["schedule"] = None
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return {a.get("queue") or "default" for a in doc["agencies"]}


def sweep_env(home: Path, options: SweepOptions, meta_url: str, store_url: str, agencies: Path,
              api_port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every process of the sweep: nothing inherited from the caller's Airflow or bus settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MPP_", "_AIRFLOW"))}
    bin_dir = str(Path(sys.executable).parent)
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[options.executor],
        "AIRFLOW__CORE__PARALLELISM": str(options.parallelism),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(options.parse_interval),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),  # 64 bytes or more for HS512
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        # Other Airflows on this machine serve logs on the default ports.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "MPP_AGENCIES_FILE": str(agencies),
        "MPP_DATABASE_URL": store_url,
        "MPP_ENVIRONMENT": "development",
        "MPP_NIK_HMAC_SECRET": secrets.token_urlsafe(32),
        **{k: json.dumps(v) for k, v in MOCK_CONNECTIONS.items()},
    })
    if options.keep_logs is not None:
        env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(options.keep_logs / "tasks")
    env.update(extra or {})
    return env


def run_sweep(options: SweepOptions) -> SweepResult:
    """Set up, sweep, measure, tear down. Raises ``SweepError`` when a step fails; cleans up in every case."""
    if options.executor not in EXECUTORS:
        raise SweepError(f"unknown executor {options.executor!r}; known: {', '.join(EXECUTORS)}")
    with ExitStack() as stack, stop_on_sigterm():
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mpp-sweep-")))
        home = tmp / "airflow"
        logs = options.keep_logs or tmp / "logs"
        home.mkdir()
        logs.mkdir(parents=True, exist_ok=True)
        databases = Databases(options.postgres_url)
        stack.callback(databases.drop_all)
        tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
        meta_db, store_db = f"mpp_sweep_meta_{tag}", f"mpp_sweep_store_{tag}"
        meta_url, store_url = databases.create(meta_db), databases.create(store_db)
        processes = Processes(logs)
        stack.callback(processes.stop_all)
        return _sweep(options, home, processes, databases, meta_db, store_db, meta_url, store_url)
    raise AssertionError("unreachable")  # pragma: no cover (ExitStack does not swallow exceptions)


def _sweep(options: SweepOptions, home: Path, processes: Processes, databases: Databases, meta_db: str,
           store_db: str, meta_url: str, store_url: str) -> SweepResult:
    started = time.perf_counter()
    bin_dir = Path(sys.executable).parent
    ports = {"dukcapil": free_port(), "licensing": free_port(), "tax": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    agencies = home / "agencies.yaml"
    queues = write_sweep_agencies(agencies, options.instances, urls)
    api_port = free_port()
    extra: dict[str, str] = {}
    if options.executor == "celery":
        redis_port = free_port()
        extra = {
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(options.worker_concurrency),
        }
    env = sweep_env(home, options, meta_url, store_url, agencies, api_port, extra)
    password = secrets.token_urlsafe(12)
    (home / "passwords.json").write_text(json.dumps({"admin": password}), encoding="utf-8")
    (home / "passwords.json").chmod(0o600)

    mocks = processes.start("mock-agencies", [
        sys.executable, "-m", "mock_agencies", "serve", "--dukcapil-port", str(ports["dukcapil"]),
        "--licensing-port", str(ports["licensing"]), "--tax-port", str(ports["tax"]),
        "--applications", str(options.applications), "--citizens", "1000",
    ], env)
    _setup(bin_dir, env, agencies, home, processes)
    _wait_for(lambda: "tax ready" in processes.tail("mock-agencies"), 60, processes, "the mock agencies")
    if options.initial_sync:
        _run([str(bin_dir / "mpp-bus"), "sync", "--all"], env, home, "the initial sync", timeout=1800)

    roots: dict[str, list[int]] = {}
    roots["api_server"] = [processes.start("api-server", [str(bin_dir / "airflow"), "api-server"], env).pid]
    roots["scheduler"] = [processes.start("scheduler", [str(bin_dir / "airflow"), "scheduler"], env).pid]
    roots["dag_processor"] = [processes.start("dag-processor", [str(bin_dir / "airflow"), "dag-processor"], env).pid]
    if options.executor == "celery":
        processes.start("redis", ["redis-server", "--port", extra["AIRFLOW__CELERY__BROKER_URL"].rsplit(":", 1)[1]
                                  .split("/")[0], "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], env)
        roots["workers"] = []
        for n in range(1, options.workers + 1):
            skip = ["-s"] if n > 1 else []
            roots["workers"].append(processes.start(f"worker{n}", [
                str(bin_dir / "airflow"), "celery", "worker", "-H", f"sweep{n}@%h", "-q", ",".join(sorted(queues)),
                *skip], env).pid)
    roots["mock_agencies"] = [mocks.pid]

    api = _Api(f"http://127.0.0.1:{api_port}", password)
    _wait_for(api.ready, 180, processes, "the API server")
    sync_ids = [f"{DAG_PREFIX}{a['id']}" for a in yaml.safe_load(agencies.read_text())["agencies"]]
    _wait_for(lambda: api.dag_count(DAG_PREFIX) >= len(sync_ids), 600, processes, "the DAG processor")
    startup_s = time.perf_counter() - started

    meta = _Meta(meta_url)
    try:
        sizes_before = {"store": databases.size(store_db), "airflow": databases.size(meta_db)}
        ticks = float(os.sysconf("SC_CLK_TCK"))
        cpu_before = cpu_by_group(roots, options.executor, read_procs(), ticks)
        t0 = time.perf_counter()
        for dag in sync_ids:
            api.trigger(dag)
        deadline = t0 + options.timeout_seconds
        while True:
            processes.check_alive()
            runs = meta.sync_runs()
            if sum(runs.get(s, 0) for s in FINISHED) >= len(sync_ids):
                break
            if time.perf_counter() > deadline:
                raise SweepError(f"the sweep did not finish within {options.timeout_seconds:.0f} s: runs {runs}")
            time.sleep(1.0)
        wall_s = time.perf_counter() - t0
        cpu_sync = cpu_by_group(roots, options.executor, read_procs(), ticks)
        # The report DAG runs on the assets the syncs updated: let it settle (created, queued, run) too.
        quiet = 0
        while quiet < 3 and time.perf_counter() < deadline:
            quiet = quiet + 1 if meta.report_active() == 0 else 0
            time.sleep(1.0)
        wall_with_report_s = time.perf_counter() - t0
        cpu_after = cpu_by_group(roots, options.executor, read_procs(), ticks)
        sizes_after = {"store": databases.size(store_db), "airflow": databases.size(meta_db)}
        task_instances, tasks = meta.task_stats()
        report_runs = meta.report_runs()
    finally:
        meta.dispose()
    cpu = {name: round(cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0), 2)
           for name in (*PROCESS_GROUPS, "mock_agencies")}
    cpu["airflow_total"] = round(sum(cpu[name] for name in PROCESS_GROUPS), 2)
    cpu["airflow_total_syncs_only"] = round(sum(cpu_sync.get(n, 0.0) - cpu_before.get(n, 0.0)
                                                for n in PROCESS_GROUPS), 2)
    return SweepResult(
        instances=options.instances, executor=options.executor, parallelism=options.parallelism,
        applications=options.applications, initial_sync=options.initial_sync, startup_s=round(startup_s, 1),
        wall_s=round(wall_s, 1), wall_with_report_s=round(wall_with_report_s, 1), sync_runs=runs,
        report_runs=report_runs, task_instances=task_instances,
        task_instances_per_minute=round(task_instances / wall_s * 60, 1),
        cpu_s=cpu, db_growth_bytes={k: sizes_after[k] - sizes_before[k] for k in sizes_after}, tasks=tasks,
    )


def _setup(bin_dir: Path, env: Mapping[str, str], agencies: Path, home: Path, processes: Processes) -> None:
    """Metadata and store schemas, one pool per agency (what deploy/airflow-setup.sh does)."""
    _run([str(bin_dir / "airflow"), "db", "migrate"], env, home, "airflow db migrate")
    _run([str(bin_dir / "mpp-bus"), "db", "upgrade"], env, home, "mpp-bus db upgrade")
    pools = home / "pools.json"
    from mpp_bus.airflow.__main__ import pools_document

    pools.write_text(json.dumps(pools_document(agencies)), encoding="utf-8")
    _run([str(bin_dir / "airflow"), "pools", "import", str(pools)], env, home, "airflow pools import")


def _run(command: list[str], env: Mapping[str, str], cwd: Path, what: str, timeout: float = 600) -> None:
    try:
        done = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        raise SweepError(f"{what} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise SweepError(f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


def _wait_for(ready: Any, seconds: float, processes: Processes, what: str) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        processes.check_alive()
        try:
            if ready():
                return
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    raise SweepError(f"{what} was not ready within {seconds:.0f} s (logs in {processes.logs})")


class _Api:
    """The few REST calls the sweep makes, as admin of the simple auth manager."""

    def __init__(self, base: str, password: str) -> None:
        import requests

        self.base = base
        self.password = password
        self.session = requests.Session()
        self.token: str | None = None

    def ready(self) -> bool:
        import requests

        try:
            response = self.session.get(f"{self.base}/api/v2/monitor/health", timeout=5)
        except requests.ConnectionError:
            return False
        if response.status_code != 200:
            return False
        if self.token is None:
            login = self.session.post(f"{self.base}/auth/token", json={"username": "admin",
                                                                       "password": self.password}, timeout=10)
            login.raise_for_status()
            self.token = login.json()["access_token"]
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        return True

    def dag_count(self, prefix: str) -> int:
        response = self.session.get(f"{self.base}/api/v2/dags", params={"dag_id_pattern": prefix, "limit": "1"},
                                    timeout=30)
        response.raise_for_status()
        return int(response.json()["total_entries"])

    def trigger(self, dag_id: str) -> None:
        response = self.session.post(f"{self.base}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None},
                                     timeout=60)
        if response.status_code >= 300:
            raise SweepError(f"triggering {dag_id} failed: {response.status_code} {response.text[:500]}")


class _Meta:
    """Read-only questions to Airflow's metadata database (cheaper than paging the REST API every second)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(_libpq_url(url), autocommit=True)

    def _rows(self, sql: str) -> list[Any]:
        return list(self.conn.execute(sql, {"prefix": DAG_PREFIX + "%", "report": REPORT_DAG_ID,
                                            "watch": OUTBOX_WATCH_DAG_ID}).fetchall())

    def sync_runs(self) -> dict[str, int]:
        rows = self._rows("SELECT state, count(*) FROM dag_run WHERE dag_id LIKE %(prefix)s GROUP BY state")
        return {str(state): int(n) for state, n in rows}

    def report_active(self) -> int:
        rows = self._rows("SELECT count(*) FROM dag_run WHERE dag_id = %(report)s AND state IN ('queued', 'running')")
        return int(rows[0][0])

    def report_runs(self) -> int:
        return int(self._rows("SELECT count(*) FROM dag_run WHERE dag_id = %(report)s")[0][0])

    def task_stats(self) -> tuple[int, dict[str, dict[str, float]]]:
        rows = self._rows(
            "SELECT task_id, count(*), avg(extract(epoch FROM end_date - start_date)),"
            " avg(extract(epoch FROM start_date - queued_dttm)) FROM task_instance"
            " WHERE dag_id LIKE %(prefix)s OR dag_id IN (%(report)s, %(watch)s) GROUP BY task_id"
            " ORDER BY min(start_date)"
        )
        tasks = {str(t): {"count": int(n), "mean_run_s": round(float(run or 0), 3),
                          "mean_queued_s": round(float(wait or 0), 3)} for t, n, run, wait in rows}
        # The rate counts the sync DAGs' tasks, which the sweep's wall time covers; the report's and the outbox
        # watcher's (a fixed cost on its own schedule, not one per agency) are listed apart.
        return sum(int(row["count"]) for t, row in tasks.items() if t not in APART), tasks

    def dispose(self) -> None:
        self.conn.close()
