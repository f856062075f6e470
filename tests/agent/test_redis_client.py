"""The Redis client factory against a real redis-server and a real local 3-primary Redis Cluster
(tests/redis_cluster.py): URLs, pipelined scripts on nodes that never saw them, per-primary facts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from redis.asyncio.cluster import RedisCluster

from agent.http.app import create_app
from agent.metrics import Metrics
from agent.settings import RedisURLError, SettingsError, load_settings
from agent.storage.redis_client import primaries_info, redis_client, run_script_many
from tests.agent.stack import settings
from tests.conftest import ON_SERVER_AND_CLUSTER
from tests.redis_cluster import RedisClusterServers

if TYPE_CHECKING:
    from pathlib import Path

    from agent.storage.redis_client import RedisClient

ON_THE_CLUSTER = pytest.mark.parametrize("redis_backend", ["cluster"], indirect=True)


def test_a_cluster_has_database_0_only_and_the_error_does_not_echo_the_url() -> None:
    with pytest.raises(RedisURLError) as refused:
        redis_client("redis+cluster://:s3cret@10.0.0.1:6379/2")
    assert "s3cret" not in str(refused.value)
    with pytest.raises(SettingsError, match=r"LEADCLOSE_KEY_STORE_URL: .*only database 0") as invalid:
        load_settings(_env_file=None, key_store_url="redis+cluster://:s3cret@10.0.0.1:6379/2")
    assert "s3cret" not in str(invalid.value)
    assert isinstance(redis_client("rediss+cluster://10.0.0.1:6379/0"), RedisCluster)
    assert not isinstance(redis_client("redis://10.0.0.1:6379/2"), RedisCluster)


@ON_SERVER_AND_CLUSTER
async def test_pipelined_scripts_run_once_each_even_where_a_node_never_saw_them(redis: RedisClient) -> None:
    await redis.script_flush()  # on a cluster: every primary
    count = redis.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    keys = [f"lc:{{{i}}}:counter" for i in range(24)]  # 24 slots: every primary of the cluster holds some
    assert await run_script_many(redis, count, [([k], [1]) for k in keys]) == [1] * 24
    assert await run_script_many(redis, count, [([k], [2]) for k in keys]) == [3] * 24  # loaded now
    assert [int(v) for v in await redis.mget(keys[:1])] == [3]
    assert await run_script_many(redis, count, []) == []


@ON_THE_CLUSTER
async def test_every_primary_reports_its_own_persistence(redis: RedisClient) -> None:
    persistence = await primaries_info(redis, "persistence")
    assert len(persistence) == 3
    assert all(int(info["aof_enabled"]) == 1 for info in persistence)


async def test_a_script_given_keys_of_two_slots_fails_every_test_that_runs_it(
    redis: RedisClient, scripts_touch_one_slot: list[str]
) -> None:
    """The suite-wide check (tests/conftest.py) on a single server, where Redis itself would allow it."""
    both = redis.register_script("redis.call('SET', KEYS[1], 1) return redis.call('SET', KEYS[2], 1)")
    with pytest.raises(AssertionError, match="2 hash slots"):
        await both(keys=["lc:{1}:a", "lc:{2}:b"])
    assert scripts_touch_one_slot.pop().startswith("\"redis.call('SET'")  # seen; not this session's failure
    assert await both(keys=["lc:{1}:a", "lc:{1}:b"])


def test_readiness_needs_every_primary_of_the_cluster(tmp_path: Path) -> None:
    cluster = RedisClusterServers(tmp_path)  # its own: one node is killed
    cluster.start()
    try:
        with TestClient(create_app(settings(cluster.url), metrics=Metrics())) as client:
            assert client.get("/readyz").status_code == 200
            cluster.nodes[2].stop()
            assert client.get("/readyz").json() == {"status": "redis unreachable"}
    finally:
        cluster.stop()
