"""Where the app finds Redis (hospital/redis_config.py): one server, a master through
Sentinel, or none; and a bad value stops the start with a message naming it. The
failover itself, with real Redis servers and a Sentinel, is
tests/e2e/test_redis_sentinel.py."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from redis.sentinel import Sentinel

from hospital import redis_config
from tests.hospital.test_settings import run_with

SENTINELS = {"REDIS_SENTINELS": "10.0.0.11:26379, 10.0.0.12:26379,10.0.0.13:26380"}


def test_without_redis_one_process_keeps_the_layer_and_the_limits_in_memory():
    config = redis_config.from_env({})
    assert not config.enabled
    layer = redis_config.channel_layers(config, "opdq")["default"]
    assert layer["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    cache = redis_config.caches(config, "opdq")["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_is_one_server_for_the_layer_and_the_limits():
    config = redis_config.from_env({"REDIS_URL": "redis://redis.internal:6379/0"})
    assert config.enabled
    layer = redis_config.channel_layers(config, "opdq")["default"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"] == {"hosts": ["redis://redis.internal:6379/0"], "prefix": "opdq"}
    cache = redis_config.caches(config, "opdq")["default"]
    assert cache["LOCATION"] == "redis://redis.internal:6379/0"
    assert cache["KEY_PREFIX"] == "opdq"
    assert cache["OPTIONS"] == {"socket_connect_timeout": 1, "socket_timeout": 1}


def test_sentinels_give_the_layer_channels_redis_sentinel_host():
    config = redis_config.from_env(
        {**SENTINELS, "REDIS_SENTINEL_MASTER": "opdq-redis", "REDIS_SENTINEL_PASSWORD": "s3",
         "REDIS_PASSWORD": "m4"}
    )  # fmt: skip
    assert config.enabled
    layer = redis_config.channel_layers(config, "hosp")["default"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["prefix"] == "hosp"
    assert layer["CONFIG"]["hosts"] == [
        {
            "sentinels": [("10.0.0.11", 26379), ("10.0.0.12", 26379), ("10.0.0.13", 26380)],
            "master_name": "opdq-redis",
            "sentinel_kwargs": {
                "socket_connect_timeout": 1,
                "socket_timeout": 1,
                "retry": None,
                "password": "s3",
            },
            "socket_connect_timeout": 1,
            "password": "m4",
        }
    ]


def test_sentinels_give_the_cache_a_sentinel_pool_with_short_timeouts():
    config = redis_config.from_env(SENTINELS)
    cache = redis_config.caches(config, "hosp")["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["KEY_PREFIX"] == "hosp"
    options = dict(cache["OPTIONS"])
    manager = options.pop("sentinel_manager")
    assert options == {
        "socket_connect_timeout": 1,
        "socket_timeout": 1,
        "pool_class": "redis.sentinel.SentinelConnectionPool",
        "service_name": "mymaster",  # REDIS_SENTINEL_MASTER's default, Sentinel's own
    }
    assert isinstance(manager, Sentinel)
    asked = [s.connection_pool.connection_kwargs for s in manager.sentinels]
    assert [(kw["host"], kw["port"]) for kw in asked] == list(config.sentinels)
    assert all(kw["socket_timeout"] == 1 and kw.get("password") is None for kw in asked)


def test_an_ipv6_sentinel_is_written_in_brackets():
    config = redis_config.from_env({"REDIS_SENTINELS": "[fd00::11]:26379"})
    assert config.sentinels == (("fd00::11", 26379),)


@pytest.mark.parametrize(
    "value", ["10.0.0.11", "10.0.0.11:", ":26379", "10.0.0.11:sentinel", "10.0.0.11:70000",
              "10.0.0.11:0", "redis://10.0.0.11:26379", "10.0.0.11 26379"],
)  # fmt: skip
def test_a_sentinel_that_is_not_host_and_port_is_refused_by_name(value):
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINELS: .* is not host:port"):
        redis_config.from_env({"REDIS_SENTINELS": f"10.0.0.12:26379,{value}"})


def test_redis_url_and_sentinels_together_are_refused():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL .* or REDIS_SENTINELS .* not both"):
        redis_config.from_env({**SENTINELS, "REDIS_URL": "redis://10.0.0.11:6379/0"})


def test_a_master_name_with_spaces_is_refused():
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINEL_MASTER: 'my master'"):
        redis_config.from_env({**SENTINELS, "REDIS_SENTINEL_MASTER": "my master"})


def test_the_server_refuses_to_start_with_a_bad_sentinel_address():
    result = run_with(
        {"SECRET_KEY": "x", "REDIS_SENTINELS": "10.0.0.11"}, "-c", "import hospital.asgi"
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: REDIS_SENTINELS: '10.0.0.11' is not host:port" in result.stderr


def test_the_settings_say_redis_is_in_use_with_sentinels_and_no_url():
    script = (
        "from django.conf import settings; "
        "print(settings.REDIS_ENABLED, repr(settings.REDIS_URL), "
        "settings.CACHES['default']['OPTIONS']['pool_class'])"
    )
    result = run_with({"SECRET_KEY": "x", "REDIS_URL": "", **SENTINELS}, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "''", "redis.sentinel.SentinelConnectionPool"]
