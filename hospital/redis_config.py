"""Where the app finds Redis, read once from the environment by hospital/settings.py: one
server (REDIS_URL), or a master and its replicas watched by Redis Sentinel
(REDIS_SENTINELS), or none (one process keeps everything in memory).

Redis carries the channel layer (every server process's pushes) and the cache the abuse
limits count in (hospital/limits.py); /readyz pings it (hospital/health.py). With
Sentinel each of them asks the Sentinels for the current master when it connects, so a
failover needs no restart. A bad value stops the start with ImproperlyConfigured naming
the variable, rather than failing later on the first push.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

DEFAULT_MASTER = "mymaster"
# A Redis blip must not hang a request: give up fast (the limits then fail open). The
# same for asking a Sentinel, so that one machine down costs a second, not minutes.
TIMEOUT = 1


@dataclass(frozen=True)
class RedisConfig:
    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str = DEFAULT_MASTER
    sentinel_password: str = ""
    # The master's (and its replicas') requirepass; with REDIS_URL it is in the URL.
    password: str = ""

    @property
    def enabled(self) -> bool:
        """Whether the app's processes share a Redis (one server or through Sentinel)."""
        return bool(self.url or self.sentinels)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` (an IPv6 address in brackets) into (host, port) pairs."""
    sentinels = []
    for entry in (item.strip() for item in value.split(",")):
        if not entry:
            continue
        host, colon, port = entry.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        bad_host = not host or any(c in host for c in "/@ ")  # a URL is not an address
        if not colon or bad_host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"REDIS_SENTINELS: {entry!r} is not host:port (for example "
                f"10.0.0.11:26379; Sentinel's usual port is 26379)."
            )
        sentinels.append((host, int(port)))
    return tuple(sentinels)


def from_env(environ: Mapping[str, str]) -> RedisConfig:
    url = environ.get("REDIS_URL", "").strip()
    sentinels = parse_sentinels(environ.get("REDIS_SENTINELS", ""))
    if not sentinels:
        return RedisConfig(url=url)
    if url:
        # Both set is a half-finished move to Sentinel: which one would the app follow?
        raise ImproperlyConfigured(
            "Set REDIS_URL (one Redis server) or REDIS_SENTINELS (a master found through "
            "Sentinel), not both."
        )
    master_name = environ.get("REDIS_SENTINEL_MASTER", "").strip() or DEFAULT_MASTER
    if any(c.isspace() for c in master_name):
        raise ImproperlyConfigured(
            f"REDIS_SENTINEL_MASTER: {master_name!r} is not a master's name (the name in "
            "sentinel.conf's `sentinel monitor <name> ...`)."
        )
    return RedisConfig(
        sentinels=sentinels,
        master_name=master_name,
        sentinel_password=environ.get("REDIS_SENTINEL_PASSWORD", ""),
        password=environ.get("REDIS_PASSWORD", ""),
    )


def _sentinel_kwargs(config: RedisConfig) -> dict:
    # One try per Sentinel, then the next one: redis-py's client for a Sentinel otherwise
    # retries ten times, so one that hangs would hold every request 15 s (measured).
    kwargs = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT, "retry": None}
    if config.sentinel_password:
        kwargs["password"] = config.sentinel_password
    return kwargs


def _master_kwargs(config: RedisConfig) -> dict:
    return {"password": config.password} if config.password else {}


def channel_layers(config: RedisConfig, prefix: str) -> dict:
    if not config.enabled:
        return {
            "default": {
                # One process only. Capacity raised from 100 so a burst is not dropped.
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": 1500, "expiry": 60},
            }
        }
    if config.sentinels:
        # channels_redis's Sentinel host: its connections ask the Sentinels for the
        # master on every (re)connect, and a broken subscription reconnects by itself.
        host = {
            "sentinels": list(config.sentinels),
            "master_name": config.master_name,
            "sentinel_kwargs": _sentinel_kwargs(config),
            # A dead machine (no refusal, just silence) must not hold a reconnect for
            # minutes; reads keep the layer's own timeouts.
            "socket_connect_timeout": TIMEOUT,
            **_master_kwargs(config),
        }
    else:
        host = config.url
    return {
        "default": {
            # Pub/sub layer: one Redis PUBLISH per group message, whatever the number of
            # sockets, and each process fans out to its own sockets. Its per-channel
            # queues are unbounded, so a burst of changes is not dropped; delivery is
            # still at most once (versions and resync cover a lost message).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": prefix},
        }
    }


def caches(config: RedisConfig, prefix: str) -> dict:
    if not config.enabled:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    location = config.url
    if config.sentinels:
        # Django's documented pool_class option: it calls
        # SentinelConnectionPool.from_url(LOCATION, **OPTIONS), whose connections ask the
        # Sentinels for the master. The Sentinel client connects only when first asked.
        from redis.sentinel import Sentinel

        location = "redis://"  # no address: the Sentinels give it
        options.update(
            pool_class="redis.sentinel.SentinelConnectionPool",
            service_name=config.master_name,
            sentinel_manager=Sentinel(
                list(config.sentinels), sentinel_kwargs=_sentinel_kwargs(config)
            ),
            **_master_kwargs(config),
        )
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "TIMEOUT": 300,
            "OPTIONS": options,
        }
    }
