"""Run the real app as separate processes against the test database: daphne (what
`make run` serves, and the websockets in production), gunicorn (production's HTTP), a
Redis of the test's own, and nginx in front, as docs/DEPLOYMENT.md sets them up."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from django.db import connection
from redis.sentinel import MasterNotFoundError, Sentinel

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# What tells the app where Redis is (hospital/redis_config.py): a child gets none of them
# from the test run's environment, only what its test gives it.
REDIS_SETTINGS = {"REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER",
                  "REDIS_SENTINEL_PASSWORD", "REDIS_PASSWORD"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database the test run is using, for a child process."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def reachable_redis_url() -> str | None:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def child_env() -> dict:
    """The environment for a child process of the app on the test run's database: the
    real settings, a test key, no Redis and no DEBUG unless the caller adds them."""
    env = {k: v for k, v in os.environ.items() if k not in {*REDIS_SETTINGS, "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE="hospital.settings",
        SECRET_KEY="test-only-daphne-key",
        DATABASE_URL=database_url(),
    )
    return env


class ServerProcess:
    """A server of ours run as a child process on a free port, stopped at the end."""

    name = "server"

    def __init__(
        self,
        *,
        redis_url: str = "",
        prefix: str = "",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        netns: str | None = None,
    ):
        self.port = port or free_port()
        # Another machine, as tests/e2e/test_two_hosts.py builds them: the server runs in
        # network namespace `netns` and listens on that namespace's address `host`.
        self.host, self.netns = host, netns
        self.redis_url = redis_url
        self.prefix = prefix
        # Settings for this server only, e.g. {"SMS_BACKEND": "outbox", "OUTBOX_DIR": ...}.
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen | None = None
        self.log = ROOT / ".pytest_cache" / f"{self.name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://{self.host}:{self.port}{path}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict:
        env = child_env()
        env.update(
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DB_POOL_MAX="4",
            LOG_LEVEL="WARNING",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
            env["CHANNEL_PREFIX"] = self.prefix
        env.update({key: str(value) for key, value in self.extra_env.items()})
        return env

    def start(self):
        self.log.parent.mkdir(exist_ok=True)
        # `ip netns exec` execs the command in place, so the pid is still the server's.
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.process = subprocess.Popen(
            prefix + self.command(), cwd=ROOT, env=self.env(), stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.wait_until_ready()
        return self

    def wait_until_ready(self) -> None:
        wait_for_port(self.port, self.process, self.log, self.name, self.host)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_for_port(
    port: int, process: subprocess.Popen, log: Path, name: str, host: str = "127.0.0.1"
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start on port {port}:\n{log.read_text()[-3000:]}")


class DaphneServer(ServerProcess):
    """The ASGI app under daphne: websockets, and HTTP as under `make run`."""

    name = "daphne"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "daphne", "-b", self.host, "-p", str(self.port),
                "hospital.asgi:application"]  # fmt: skip


class GunicornServer(ServerProcess):
    """The WSGI app under gunicorn, as production serves HTTP."""

    name = "gunicorn"

    def __init__(self, *, workers: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.workers = workers

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "--bind", f"{self.host}:{self.port}",
                "--workers", str(self.workers), "hospital.wsgi:application"]  # fmt: skip


class RedisServer(ServerProcess):
    """A Redis of the test's own on a free port, which it may stop and start again
    (never the machine's shared one)."""

    name = "redis"

    def command(self) -> list[str]:
        # Protected mode would refuse the hosts of tests/e2e/test_two_hosts.py, which
        # reach it on another address than loopback; it listens on one address anyway.
        return ["redis-server", "--bind", self.host, "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--protected-mode", "no"]  # fmt: skip

    def env(self) -> dict:
        return dict(os.environ)

    @property
    def redis_url_of(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


class RedisNode(RedisServer):
    """A Redis of a replicated group (RedisSentinelGroup): a replica of the Redis on port
    `replica_of` if given, a master otherwise. Its files go to `workdir`, since a
    replica writes the master's snapshot to disk."""

    name = "redis-node"

    def __init__(self, *, workdir: Path, replica_of: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.workdir, self.replica_of = workdir, replica_of

    def command(self) -> list[str]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A master sends its first copy to a replica at once, not after the 5 s it waits
        # by default for more replicas to share it.
        command = [*super().command(), "--dir", str(self.workdir),
                   "--repl-diskless-sync-delay", "0"]  # fmt: skip
        if self.replica_of:
            command += ["--replicaof", self.host, str(self.replica_of)]
        return command

    def in_sync(self) -> bool:
        """A replica's: whether it has the master's copy and follows its writes."""
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1)
        try:
            return client.info("replication").get("master_link_status") == "up"
        finally:
            client.close()


class RedisSentinel(ServerProcess):
    """A Redis Sentinel watching the master on `master_port` as `master_name`: alone
    (quorum 1) and quick, so a test's failover takes seconds. It rewrites its
    configuration file as it learns, so the file is its own, in `workdir`."""

    name = "sentinel"
    DOWN_AFTER_MS = 1000
    FAILOVER_TIMEOUT_MS = 3000

    def __init__(self, *, master_port: int, workdir: Path, master_name: str = "mymaster"):
        super().__init__()
        self.master_port, self.workdir, self.master_name = master_port, workdir, master_name

    def command(self) -> list[str]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / f"sentinel-{self.port}.conf"
        name = self.master_name
        conf.write_text(
            f"port {self.port}\nbind {self.host}\nprotected-mode no\ndir {self.workdir}\n"
            f"sentinel monitor {name} {self.host} {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {name} {self.DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {name} {self.FAILOVER_TIMEOUT_MS}\n"
        )
        return ["redis-server", str(conf), "--sentinel"]

    def env(self) -> dict:
        return dict(os.environ)

    def master_address(self) -> tuple[str, int] | None:
        """The master this Sentinel names now (SENTINEL get-master-addr-by-name)."""
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1)
        try:
            address = client.sentinel_get_master_addr_by_name(self.master_name)
        finally:
            client.close()
        if not address:
            return None
        host = address[0].decode() if isinstance(address[0], bytes) else address[0]
        return host, int(address[1])


class RedisSentinelGroup:
    """A master, one replica and one Sentinel, each a process of the test's own on a free
    port: what a hospital runs on three machines (docs/DEPLOYMENT.md, Redis with
    Sentinel), on one."""

    def __init__(self, workdir: Path, master_name: str = "mymaster"):
        self.master = RedisNode(workdir=workdir / "master")
        self.replica = RedisNode(workdir=workdir / "replica", replica_of=self.master.port)
        self.sentinel = RedisSentinel(
            master_port=self.master.port, workdir=workdir / "sentinel", master_name=master_name
        )
        self.master_name = master_name

    @property
    def app_env(self) -> dict[str, str]:
        """The settings that point the app at this group."""
        return {
            "REDIS_SENTINELS": f"{self.sentinel.host}:{self.sentinel.port}",
            "REDIS_SENTINEL_MASTER": self.master_name,
        }

    def start(self):
        try:
            self.master.start()
            self.replica.start()
            self.sentinel.start()
            # Ready once the replica has the master's data and the Sentinel has found it
            # (through the master's INFO): then a failover loses nothing written after.
            self.wait_for(self.replica.in_sync, 20, "the replica to have the master's copy")
            self.wait_for(self._replica_known, 20, "the Sentinel to see the replica")
        except BaseException:
            self.stop()
            raise
        return self

    def _replica_known(self) -> bool:
        client = redis.Redis(host=self.sentinel.host, port=self.sentinel.port, socket_timeout=1)
        try:
            replicas = client.sentinel_slaves(self.master_name)
        finally:
            client.close()
        return any(r["port"] == self.replica.port and not r["is_sdown"] for r in replicas)

    def wait_for_failover(self, timeout: float = 15) -> tuple[str, int]:
        """After the master's death: the replica's address, once the Sentinel has
        promoted it and ended the failover. (SENTINEL get-master-addr-by-name names the
        replica a moment before the end; redis-py's clients, as the app's, take a
        master only once the Sentinel no longer marks it down or failing over.)"""
        promoted = (self.replica.host, self.replica.port)
        self.wait_for(
            lambda: self.sentinel.master_address() == promoted and self._master_usable(),
            timeout, "the Sentinel to promote the replica",
        )  # fmt: skip
        return promoted

    def _master_usable(self) -> bool:
        sentinel = Sentinel([(self.sentinel.host, self.sentinel.port)], socket_timeout=1)
        try:
            sentinel.discover_master(self.master_name)
        except MasterNotFoundError:
            return False
        finally:
            sentinel.close()
        return True

    @staticmethod
    def wait_for(condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout:.0f} s: {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        for server in (self.sentinel, self.replica, self.master):
            server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


NGINX_SITE = ROOT / "deploy" / "nginx.conf"


class NginxProxy(ServerProcess):
    """nginx from Debian with deploy/nginx.conf, the documented site, as written but for
    its ports: it listens on a free port and sends to the given gunicorn and daphnes."""

    name = "nginx"

    def __init__(
        self,
        *,
        http_port: int,
        ws_ports: list[int],
        workdir: Path,
        upstream_host: str = "127.0.0.1",
    ):
        super().__init__()
        self.http_port, self.ws_ports, self.workdir = http_port, ws_ports, workdir
        # Where gunicorn and the daphnes listen: another machine's address, say.
        self.upstream_host = upstream_host

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def site(self) -> str:
        site = NGINX_SITE.read_text()
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("/var/log/nginx/opdq-access.log", str(self.access_log))
        upstream = self.upstream_host
        site = site.replace("server 127.0.0.1:8000;", f"server {upstream}:{self.http_port};")
        ws = "\n".join(f"    server {upstream}:{port};" for port in self.ws_ports)
        site = site.replace("    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;", ws)
        return site

    def command(self) -> list[str]:
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        (work / "site.conf").write_text(self.site())
        (work / "nginx.conf").write_text(
            f"daemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  client_body_temp_path {work}/body;\n  proxy_temp_path {work}/proxy;\n"
            f"  fastcgi_temp_path {work}/fastcgi;\n  uwsgi_temp_path {work}/uwsgi;\n"
            f"  scgi_temp_path {work}/scgi;\n"
            f"  include {work}/site.conf;\n"
            "}\n"
        )
        return [nginx_path() or "nginx", "-p", str(work), "-c", str(work / "nginx.conf")]

    def env(self) -> dict:
        return dict(os.environ)


def nginx_path() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None
    )


def set_server_password(user, raw: str) -> None:
    """Give `user` a password the server process can check: the test settings hash with
    MD5 for speed, which the real settings (Argon2, PBKDF2) do not accept."""
    from django.contrib.auth.hashers import make_password

    user.password = make_password(raw, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])


def unique_prefix() -> str:
    return f"opdq-test-{uuid.uuid4().hex[:8]}"


class WorkerProcess(ServerProcess):
    """The background worker (`manage.py qcluster`, as `make run` and opdq-worker run it)
    on the test run's database, sending the outbox for a server process of the test."""

    name = "worker"

    def command(self) -> list[str]:
        return [sys.executable, "manage.py", "qcluster"]

    def env(self) -> dict:
        env = child_env()
        # Tests run tasks in-process (WORKER_SYNC); this worker is the real thing.
        env.update(WORKER_SYNC="0", LOG_LEVEL="INFO")
        env.update({key: str(value) for key, value in self.extra_env.items()})
        return env

    def wait_until_ready(self) -> None:
        pass  # it polls the database for tasks; there is no port to wait for


def postgres_program(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl): Debian keeps them out of PATH."""
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (never the machine's shared server), which it
    may stop, restart and finally removes: initdb into a temporary directory, a free port
    on 127.0.0.1, trust authentication, one empty database `opdq`. PostgreSQL refuses to
    run as root, so under root its programs run as the `postgres` user, which owns the
    directory."""

    def __init__(self):
        self.port = free_port()
        # Not pytest's tmp_path: its parents are private to root, and the server may not be.
        self.dir = Path(tempfile.mkdtemp(prefix="opdq-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/opdq"

    def _run(self, program: str, *args: str) -> None:
        command = [postgres_program(program) or program, *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", *args)

    def start(self):
        if not self.data.exists():
            if os.geteuid() == 0:
                import pwd

                owner = pwd.getpwnam("postgres")
                os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
            # In the configuration file, so that a restart keeps them. fsync off: the
            # tests restart the server, they never crash the machine.
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write(
                    f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                )
            self._pg_ctl("start")
            import psycopg

            admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute("CREATE DATABASE opdq")
        else:
            self._pg_ctl("start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session and shuts down cleanly."""
        self._pg_ctl("stop", "-m", mode)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
