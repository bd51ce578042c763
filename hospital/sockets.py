"""The gate in front of every websocket: the page must come from this very site, and one
client address may hold only so many sockets.

Both refuse the handshake the way Channels does (WebsocketDenier: closed before accept,
an HTTP 403 to the browser), without a log line: a refusal is the expected answer to a
stale tab, a foreign page or a flood, not a server fault.
"""

from collections import Counter
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from hospital.clientip import forwarded_client

DEFAULT_PORTS = {"http": 80, "https": 443}


def header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


def peer(scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def client_address(scope) -> str:
    """Who is at the other end, trusting X-Forwarded-For only from our own proxy."""
    return forwarded_client(peer(scope), header(scope, b"x-forwarded-for"))


def site_origin(scope) -> str | None:
    """The origin of this site as the browser addressed it: the scheme of the socket
    (https behind a TLS proxy that says so) and the Host header, if it is one we serve."""
    host = header(scope, b"host").strip().lower()
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    if peer(scope) in settings.TRUSTED_PROXIES:
        forwarded = header(scope, b"x-forwarded-proto").strip().lower()
        if forwarded in DEFAULT_PORTS:
            scheme = forwarded
    return f"{scheme}://{host}"


class SameOriginValidator(OriginValidator):
    """Channels' origin check, against this site's own scheme, host and port (and the
    origins in CSRF_TRUSTED_ORIGINS), like Django's CSRF check for forms.

    AllowedHostsOriginValidator compares the host alone, so a page served from any port
    or scheme of an allowed host (http://localhost:9999) could open a doctor's socket.
    """

    def __init__(self, application):
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        origin = header(scope, b"origin")
        # CSRF_TRUSTED_ORIGINS writes a wildcard subdomain as "https://*.example.org";
        # Channels' patterns write it as "https://.example.org".
        allowed = [o.replace("://*.", "://.") for o in settings.CSRF_TRUSTED_ORIGINS]
        own = site_origin(scope)
        if own:
            allowed.append(own)
        parsed = urlparse(origin) if origin else None
        if parsed is not None and any(self.match_allowed_origin(parsed, p) for p in allowed):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


class SocketsPerClientLimit:
    """At most settings.WS_MAX_PER_CLIENT open sockets per client address (0: no limit).

    Counted in this process only: the limit is against one client hogging a server's
    sockets, and nginx's limit_conn (deploy/nginx.conf) caps the total across processes.
    """

    def __init__(self, application):
        self.application = application
        self.open = Counter()

    async def __call__(self, scope, receive, send):
        limit = settings.WS_MAX_PER_CLIENT
        address = client_address(scope)
        if limit and self.open[address] >= limit:
            return await WebsocketDenier()(scope, receive, send)
        self.open[address] += 1
        try:
            return await self.application(scope, receive, send)
        finally:
            self.open[address] -= 1
            if not self.open[address]:
                del self.open[address]
