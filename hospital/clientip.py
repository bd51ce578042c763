"""Which address a request came from, trusting only our own reverse proxy.

Behind nginx every request arrives from the proxy's address, and the client's address is
the last entry of X-Forwarded-For: nginx's `$proxy_add_x_forwarded_for` appends the
address it saw to whatever the client sent. Everything before that entry was written by
the client and may be forged, so only that one hop is read, and only when the request
really came from an address in settings.TRUSTED_PROXIES. The login lockout
(AXES_CLIENT_IP_CALLABLE) and every per-client limit use this.
"""

import ipaddress

from django.conf import settings


def forwarded_client(remote_addr: str, forwarded_for: str) -> str:
    """The client's address, given the connecting peer and its X-Forwarded-For header."""
    if remote_addr in settings.TRUSTED_PROXIES and forwarded_for:
        appended = forwarded_for.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(appended))
        except ValueError:
            pass  # a proxy of ours always appends an address; anything else is not trusted
    return remote_addr


def client_ip(request) -> str:
    return forwarded_client(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )
