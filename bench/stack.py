"""The app as production runs it, for the benchmarks: gunicorn serves HTTP from
hospital.wsgi, daphne serves websockets from hospital.asgi, on a scratch database
(scratchdb.py), with the Redis pub/sub channel layer under a prefix of the run's own when
more than one process must hear a change. Every process is a child of the benchmark,
listens on 127.0.0.1 only and is stopped when the benchmark ends."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOCKED = "database is locked"
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(M)s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def local_redis(url: str) -> str:
    """The Redis URL, refused unless it is on this machine."""
    if url and not url.startswith(("redis://127.0.0.1", "redis://localhost")):
        raise SystemExit(f"only a local Redis may be used, not {url}")
    return url


def app_env(database_url: str, *, redis_url: str = "", **extra: str) -> dict:
    """Production settings (DEBUG off) on the given database. With a Redis URL, the
    channel layer gets a prefix of this run's own: the Redis is shared with others."""
    drop = {"REDIS_URL", "DEBUG", "DATABASE_URL", "CHANNEL_PREFIX", "TRUSTED_PROXIES"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        DJANGO_SETTINGS_MODULE="hospital.settings",
        SECRET_KEY="bench-" + secrets.token_hex(24),
        DATABASE_URL=database_url,
        ALLOWED_HOSTS=f"{HOST},localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # One load generator is many kiosks behind one address: the abuse limits of a
        # real hospital would (rightly) refuse it, so a load test turns them off.
        TOKEN_LIMIT="off",
        TOKEN_LIMIT_PER_ADDRESS="off",
        TOKEN_LIMIT_PER_MOBILE="off",
        # Thousands of screens from one address: the per-address socket limit is off too.
        WS_MAX_PER_CLIENT="0",
    )
    if redis_url:
        env.update(REDIS_URL=local_redis(redis_url), CHANNEL_PREFIX=f"bench{secrets.token_hex(5)}")
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    """Run manage.py in a child process; its standard output."""
    out = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    return out.stdout


def shell(env: dict, code: str) -> str:
    """Run Python with Django set up (the ORM) in a child process; its last output line."""
    lines = manage(env, "shell", "-v", "0", "-c", code).strip().splitlines()
    return lines[-1] if lines else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Stack:
    """gunicorn (`workers` processes, `threads` each), `daphnes` daphne processes and,
    with `worker`, the background worker (`manage.py qcluster`).

    Use as a context manager; `http_url` is gunicorn's, `ws_ports` daphne's."""

    def __init__(
        self,
        env: dict,
        log_dir: Path,
        *,
        workers: int = 0,
        threads: int = 1,
        daphnes: int = 0,
        wsgi_app: str = "hospital.wsgi:application",
        worker: bool = False,
        access_log: Path | None = None,
    ):
        self.env, self.log_dir = env, Path(log_dir)
        self.workers, self.threads, self.daphnes = workers, threads, daphnes
        self.wsgi_app = wsgi_app
        self.worker = worker
        self.access_log = access_log
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.http_port = free_port() if workers else None
        self.ws_ports = [free_port() for _ in range(daphnes)]

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = self.log_dir / f"{name}.log"
        with open(log, "wb") as handle:
            proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def __enter__(self):
        try:
            if self.workers:
                self.gunicorn = self._start(
                    f"gunicorn-{self.http_port}",
                    [PYTHON, "-m", "gunicorn", "--bind", f"{HOST}:{self.http_port}",
                     "--workers", str(self.workers), "--threads", str(self.threads),
                     *self.access_log_args(), self.wsgi_app],
                )  # fmt: skip
            for port in self.ws_ports:
                self._start(
                    f"daphne-{port}",
                    [str(BIN / "daphne"), "-b", HOST, "-p", str(port), "hospital.asgi:application"],
                )
            if self.worker:  # the background worker: SMS, webhooks, the minute's checks
                self._start("worker", [PYTHON, "manage.py", "qcluster"])
            if self.workers:
                self._wait_http(self.http_url + "/accounts/login/")
            for port in self.ws_ports:
                self._wait_port(port)
        except BaseException:
            self.stop()
            raise
        return self

    def access_log_args(self) -> list[str]:
        # Method, path, status and the request's time in the worker in milliseconds
        # (ACCESS_LOG_FORMAT): no time waiting for a free worker is in it.
        if self.access_log is None:
            return []
        return ["--access-logfile", str(self.access_log), "--access-logformat", ACCESS_LOG_FORMAT]

    def __exit__(self, *exc):
        self.stop()

    def _check_alive(self) -> None:
        for proc, log in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"{log.stem} exited:\n{log.read_text(errors='replace')[-3000:]}")

    def _wait_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in {timeout:.0f} s")
            time.sleep(0.2)

    def _wait_port(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nothing on port {port} after {timeout:.0f} s") from exc
                time.sleep(0.1)

    def pids(self, kind: str = "") -> list[int]:
        """Server processes (gunicorn's workers included), optionally of one kind."""
        pids = []
        for proc, log in zip(self.procs, self.logs, strict=True):
            if log.stem.startswith(kind):
                pids.append(proc.pid)
                pids += children(proc.pid)
        return pids

    def cpu_seconds(self, kind: str = "") -> float:
        return sum(cpu_seconds(pid) for pid in self.pids(kind))

    def log_text(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def percentile(values: list[float], p: float) -> float:
    """Nearest rank, in the values' own unit."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def start_profilers(
    pids: list[int], where: Path, name: str, rate: int = 200
) -> list[subprocess.Popen]:
    """py-spy (not a project dependency: `.venv/bin/pip install py-spy`) on each process,
    as collapsed stacks ("raw" format) for reading or for a flame graph, `rate` samples a
    second (a lower rate disturbs a loaded machine less)."""
    where.mkdir(parents=True, exist_ok=True)
    spy = str(BIN / "py-spy") if (BIN / "py-spy").exists() else "py-spy"
    procs = [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-r",
                str(rate),
                "-f",
                "raw",
                "-o",
                str(where / f"{name}-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for pid in pids
    ]
    time.sleep(1)  # let it attach
    return procs


def stop_profilers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
