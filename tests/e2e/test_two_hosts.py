"""Two app hosts on one machine: a call made through host A reaches a TV connected through
host B, and a TV whose host loses its link says so and catches up when the link returns.

The machines are Linux network namespaces (`ip netns`, as root). A bridge in the root
namespace holds 10.203.N.1/24 and one veth pair per host: host A is 10.203.N.2, host B
10.203.N.3, and each runs its own gunicorn and daphne on that address. The root namespace
plays the proxy and database machine: nginx (deploy/nginx.conf, one instance per host's
route, so the test knows which host every screen is on; production lists every host in
one upstream, docs/DEPLOYMENT.md "Scaling out"), a Redis of the test's own bound to the
bridge address, and the test run's PostgreSQL database.

The machine's PostgreSQL listens on 127.0.0.1 only, which no namespace can reach. Rather
than a second cluster (the test's own rows would then live in another database than the
one pytest-django made), a small TCP relay in this process listens on the bridge address
and passes each connection to that PostgreSQL byte for byte: the hosts use the very test
database, over the namespace network, like a pgbouncer or HAProxy in front of a database
machine. Cutting a host's link cuts its database and Redis too, as on a real network.

It needs PostgreSQL, so it runs in the PostgreSQL pass only (skipped on SQLite), and root
for the namespaces (skipped on a laptop without them, required in CI). Namespaces, links
and processes are removed on the way out, failures included.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection

from queues import services
from tests.conftest import require_in_ci
from tests.e2e.conftest import log_in, press
from tests.servers import (
    DaphneServer,
    GunicornServer,
    NginxProxy,
    RedisServer,
    database_url,
    nginx_path,
    unique_prefix,
)

pytestmark = [pytest.mark.browser, pytest.mark.redis]

# A screen goes offline after 30 s without a word from its server (static/js/live.js),
# checked every 5 s, and the last word can be a ping (10 s) old when the link goes.
OFFLINE_WITHIN_MS = 50_000
# Back: a connect that hangs is dropped within 5 s, then the next one waits its backoff
# (at most 15 s); the margin is for a machine busy with the rest of the suite.
BACK_WITHIN_MS = 45_000


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def namespaces_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"opdq-probe-{uuid.uuid4().hex[:6]}"
    try:
        run("ip", "netns", "add", probe)
    except (subprocess.CalledProcessError, OSError):
        return False
    run("ip", "netns", "del", probe)
    return True


def free_subnet() -> int:
    """A 10.203.N.0/24 no interface on this machine uses (two runs at once must not meet)."""
    start = os.getpid() % 250
    for i in range(250):
        n = (start + i) % 250 + 1
        used = subprocess.run(
            ["ip", "-4", "-o", "addr", "show", "to", f"10.203.{n}.0/24"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if not used.strip():
            return n
    raise RuntimeError("no free 10.203.N.0/24 subnet")


class Network:
    """The bridge and the hosts' namespaces, each torn down by `cleanup` as it is made."""

    def __init__(self, cleanup: contextlib.ExitStack):
        tag = uuid.uuid4().hex[:6]
        n = free_subnet()
        self.proxy_ip = f"10.203.{n}.1"
        self.bridge = f"oq{tag}br"
        run("ip", "link", "add", self.bridge, "type", "bridge")
        cleanup.callback(run, "ip", "link", "del", self.bridge)
        run("ip", "addr", "add", f"{self.proxy_ip}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        self.hosts = {}
        for i, name in enumerate(("a", "b"), start=2):
            ns, root_end, host_end = f"opdq-{tag}-{name}", f"oq{tag}{name}", f"oq{tag}{name}h"
            run("ip", "netns", "add", ns)
            # Deleting the namespace deletes its veth end, and with it the root end.
            cleanup.callback(run, "ip", "netns", "del", ns)
            run("ip", "link", "add", root_end, "type", "veth", "peer", "name", host_end)
            cleanup.callback(subprocess.run, ["ip", "link", "del", root_end], capture_output=True)
            run("ip", "link", "set", host_end, "netns", ns)
            run("ip", "-n", ns, "link", "set", host_end, "name", "eth0")
            run("ip", "-n", ns, "addr", "add", f"10.203.{n}.{i}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "link", "set", root_end, "master", self.bridge)
            run("ip", "link", "set", root_end, "up")
            self.hosts[name] = (ns, f"10.203.{n}.{i}")

    def cut(self, name: str) -> None:
        run("ip", "-n", self.hosts[name][0], "link", "set", "eth0", "down")

    def restore(self, name: str) -> None:
        run("ip", "-n", self.hosts[name][0], "link", "set", "eth0", "up")


class TcpRelay:
    """Passes every connection made to (host, an own port) on to `target`, byte for byte."""

    def __init__(self, host: str, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server((host, 0))
        self.host, self.port = host, self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.target)
            except OSError:
                return  # closed
            with self.lock:
                self.sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        # One side has hung up: so does the other, as a direct connection would.
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept(); close alone would not.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def at_once(servers: list, action) -> None:
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(action, servers))  # list(): an exception in one is raised here


def relayed_database_url(relay: TcpRelay) -> str:
    """The test database's URL, but through the relay on the namespace network."""
    url = urlsplit(database_url())
    credentials = url.netloc.rpartition("@")[0]
    return url._replace(netloc=f"{credentials}@{relay.host}:{relay.port}").geturl()


@pytest.fixture
def hosts(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip(
            "runs in the PostgreSQL pass only: the hosts need a database they reach over "
            "the network, and SQLite is a file on this machine"
        )
    if not namespaces_available():
        require_in_ci("network namespaces", "run as root with iproute2's `ip netns`")
    if nginx_path() is None:
        require_in_ci("nginx", "install the Debian package `nginx-light` (/usr/sbin/nginx)")
    if shutil.which("redis-server") is None:
        require_in_ci("redis-server", "install the Debian package `redis-server`")

    with contextlib.ExitStack() as cleanup:
        network = Network(cleanup)
        s = connection.settings_dict
        relay = TcpRelay(network.proxy_ip, (s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432)))
        cleanup.callback(relay.close)
        redis = RedisServer(host=network.proxy_ip)
        cleanup.callback(redis.stop)
        redis.start()

        shared = {
            "redis_url": redis.redis_url_of,
            "prefix": unique_prefix(),
            "extra_env": {
                "DATABASE_URL": relayed_database_url(relay),
                # nginx reaches the hosts from the bridge address.
                "TRUSTED_PROXIES": network.proxy_ip,
            },
        }
        servers = {}
        for name, (ns, ip) in network.hosts.items():
            servers[name] = (
                GunicornServer(workers=1, host=ip, netns=ns, **shared),
                DaphneServer(host=ip, netns=ns, **shared),
            )
        # The servers are stopped before their namespaces go (an ExitStack unwinds last
        # in, first out). All four start, and stop, at once: each takes seconds.
        every = [server for pair in servers.values() for server in pair]
        cleanup.callback(at_once, every, lambda server: server.stop())
        at_once(every, lambda server: server.start())

        proxies = {}
        for name, (http, ws) in servers.items():
            proxies[name] = NginxProxy(
                http_port=http.port, ws_ports=[ws.port], workdir=tmp_path / f"nginx-{name}",
                upstream_host=http.host,
            )  # fmt: skip
            cleanup.callback(proxies[name].stop)
            proxies[name].start()
        yield network, proxies


def test_a_call_through_host_a_reaches_a_tv_on_host_b_which_says_offline_while_cut_off(
    hosts, new_page, orth, dr_rao
):
    network, proxy = hosts
    for name in ("Asha Rao", "Bala Iyer", "Chitra Nair"):
        services.issue_token(orth, name)

    tvs = {}
    for name in ("a", "b"):
        tvs[name] = new_page(viewport={"width": 1920, "height": 1080})
        tvs[name].goto(f"{proxy[name].url}/display/?departments=orth&sound=0&voice=0")
        tvs[name].wait_for_selector("#tv-status.live")
    tv_b = tvs["b"]
    tv_b.evaluate("window.__loadedAt = performance.timeOrigin")

    doctor = new_page()
    log_in(doctor, proxy["a"].url, "rao", "pw-rao")
    doctor.goto(f"{proxy['a'].url}/doctor/")
    press(doctor, "Call next")
    # Written on host A, published through the shared Redis, pushed by host B's daphne.
    tv_b.wait_for_selector('.tv-serving li[data-token="ORTH-001"]', timeout=5000)
    assert tv_b.locator(".tv-next-list li").all_inner_texts() == ["ORTH-002", "ORTH-003"]

    network.cut("b")
    press(doctor, "Start consultation")
    press(doctor, "Complete")
    press(doctor, "Call next")
    # Host A's TV, the control: the call made during the cut is there, live.
    tvs["a"].wait_for_selector('.tv-serving li[data-token="ORTH-002"]', timeout=5000)
    tv_b.wait_for_selector("#tv-status.offline", timeout=OFFLINE_WITHIN_MS)
    assert "Offline" in tv_b.locator("#tv-status").inner_text()
    assert tv_b.locator("#tv-stale-note").is_visible()
    # The last state it knew, marked as such: the call made on host A could not reach it.
    assert tv_b.locator('.tv-serving li[data-token="ORTH-002"]').count() == 0
    assert tv_b.locator('.tv-serving li[data-token="ORTH-001"]').count() == 1
    tv_b.screenshot(path=str(proxy["b"].log.parent / "two-hosts-tv-b-offline.png"))
    tvs["a"].wait_for_selector("#tv-status.live")

    network.restore("b")
    tv_b.wait_for_selector('.tv-serving li[data-token="ORTH-002"]', timeout=BACK_WITHIN_MS)
    tv_b.wait_for_selector("#tv-status.live", timeout=BACK_WITHIN_MS)
    assert tv_b.locator(".tv-next-list li").all_inner_texts() == ["ORTH-003"]
    assert not tv_b.locator("#tv-stale-note").is_visible()
    assert tv_b.evaluate("window.__loadedAt === performance.timeOrigin")  # never reloaded
