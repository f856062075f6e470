"""The one place a Redis client is built: one server (`redis://`, `rediss://`) or a Redis Cluster
(`redis+cluster://`, `rediss+cluster://`, any node as the seed), with the same explicit timeouts and retries.

Every key of one Lua script or transaction shares a hash tag (`lc:{3}:…`, `lc:tenant:{T}:…`), so the same
code runs on both (`scripts_touch_one_slot` in tests/conftest.py checks every script the tests run). What
differs is routed here: scripts in pipelines (a cluster pipeline does not load missing scripts) and facts
that each primary holds for itself (INFO, WAITAOF, PING).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agent.settings import CLUSTER_SCHEMES, check_url

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.commands.core import AsyncScript

# Either client: both offer the same data commands, and one Lua script touches one slot on either.
RedisClient: TypeAlias = Redis | RedisCluster


def redis_client(url: str, *, socket_timeout_s: float = 5.0, retries: int = 8) -> RedisClient:
    """redis-py waits forever by default: give every call a timeout and ride out a restart (or, on a
    cluster, a failover) with retries."""
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": 2.0,
        "health_check_interval": 15,
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    scheme, _, rest = check_url(url).partition("://")
    plain = CLUSTER_SCHEMES.get(scheme.lower())
    if plain is None:
        return Redis.from_url(url, **options)
    return RedisCluster.from_url(f"{plain}://{rest}", **options)


async def ping_every_primary(redis: RedisClient) -> bool:
    """Readiness: on a cluster every primary must answer, or the webhooks for its slots would fail."""
    if isinstance(redis, RedisCluster):
        return bool(await redis.ping(target_nodes=RedisCluster.PRIMARIES))
    return bool(await redis.ping())


async def primaries_info(redis: RedisClient, section: str) -> list[dict[str, Any]]:
    """`INFO section` of the server, or of every primary of a cluster (each holds part of the data, so
    each must be fit for it: AOF on, a version with the commands we use)."""
    if isinstance(redis, RedisCluster):
        replies: dict[str, dict[str, Any]] = await redis.info(section, target_nodes=RedisCluster.PRIMARIES)
        return list(replies.values())
    return [await redis.info(section)]


async def fsynced_locally(redis: RedisClient, timeout_ms: int) -> list[int]:
    """`WAITAOF 1 0 timeout` (Redis >= 7.2): per server, 1 once this client's writes are in its AOF on
    disk. On a cluster every primary is asked: the writes of one webhook land on several."""
    if isinstance(redis, RedisCluster):
        replies = await redis.execute_command(
            "WAITAOF", 1, 0, timeout_ms, target_nodes=RedisCluster.PRIMARIES
        )
        return [int(local) for local, _ in replies.values()]
    local, _ = await redis.execute_command("WAITAOF", 1, 0, timeout_ms)  # type: ignore[no-untyped-call]
    return [int(local)]


async def run_script_many(
    redis: RedisClient, script: AsyncScript, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
) -> list[Any]:
    """One script, many (keys, args) calls, in one pipeline: one round trip per server.

    A cluster pipeline sends EVALSHA without first loading the script (a node that never ran it, or a
    replica promoted since, answers NOSCRIPT): load it on every primary and run again exactly the
    calls that were refused. Those never ran, so nothing runs twice."""
    if not calls:
        return []
    results = await _pipelined(redis, script, calls)
    refused = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    if refused:
        await redis.script_load(script.script)
        again = await _pipelined(redis, script, [calls[i] for i in refused])
        for i, result in zip(refused, again, strict=True):
            results[i] = result
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


async def _pipelined(
    redis: RedisClient, script: AsyncScript, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        client: Any = pipe  # redis-py's AsyncScript takes a pipeline; its annotation does not say so
        for keys, args in calls:
            await script(keys=keys, args=args, client=client)
        return list(await pipe.execute(raise_on_error=False))
