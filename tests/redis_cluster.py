"""A real 3-primary Redis Cluster on 127.0.0.1 for tests: three `redis-server --cluster-enabled yes` (AOF on,
each in its own temp folder, as tests/redis_server.py starts one), joined by `redis-cli --cluster create`,
ready once every node says `cluster_state:ok`."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import TYPE_CHECKING

import redis

from tests.redis_server import RedisServer, free_port

if TYPE_CHECKING:
    from pathlib import Path

PRIMARIES = 3


class RedisClusterServers:
    def __init__(self, folder: Path) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli not installed (./run test installs Debian's redis-server)")
        self._cli = cli
        self.nodes = [
            RedisServer(folder / f"node{i}", options=_node_options(folder / f"node{i}"))
            for i in range(PRIMARIES)
        ]

    @property
    def url(self) -> str:
        """Any one node is enough: the client learns the others from it."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def aof_dirs(self) -> list[Path]:
        return [folder for node in self.nodes for folder in node.aof_dirs]

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        create = [self._cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes)]
        subprocess.run(
            [*create, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        self._wait_until_ok()

    def _wait_until_ok(self) -> None:
        """Every node reports `cluster_state:ok` and knows every other (gossip converged)."""
        deadline = time.monotonic() + 30
        clients = [redis.Redis(port=n.port, socket_timeout=2) for n in self.nodes]
        try:
            while True:
                infos = [c.cluster("INFO") for c in clients]
                if all(
                    i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == PRIMARIES for i in infos
                ):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not reach cluster_state:ok in 30 s")
                time.sleep(0.05)
        finally:
            for c in clients:
                c.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _node_options(folder: Path) -> list[str]:
    # The bus port defaults to port + 10000, past 65535 for an ephemeral port: name one instead.
    options = {
        "cluster-enabled": "yes",
        "cluster-config-file": str(folder / "nodes.conf"),
        "cluster-port": str(free_port()),
    }
    return [x for name, value in options.items() for x in (f"--{name}", value)]
