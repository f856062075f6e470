"""What consent costs a turn: the keyword check (before any model), `may()` on a real redis-server, the
checks and records a text turn adds (keywords, handoff, may ×3, disclosure, T0), and a chained ledger
append. Prints medians; never pass/fail. `python -m bench.consent`."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent.privacy.assembly import Privacy
from agent.privacy.ledger import Context
from agent.privacy.records import ProcessingRecord
from agent.storage.conversations import ConversationStore
from agent.storage.keyring import Keyring
from agent.tenants.registry import TenantRegistry
from pipelines.consent import DEFAULT_KEYWORDS, Intent, KeywordClassifier, Method, Purpose, transition
from tests.conftest import ROOT, redis_client
from tests.redis_server import RedisServer

MESSAGES = [
    "Do you install rooftop solar in Pune?",
    "STOP",
    "band karo",
    "मेरा डेटा दिखाओ",
    "what is the price of a 3 kW system with net metering?",
]


def _median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1)


def bench_keywords(rounds: int = 20_000) -> dict[str, float]:
    classifier = KeywordClassifier(DEFAULT_KEYWORDS)
    start = time.perf_counter()
    for i in range(rounds):
        classifier.classify(MESSAGES[i % len(MESSAGES)])
    elapsed = time.perf_counter() - start
    return {
        "keyword_classify_per_s": round(rounds / elapsed),
        "keyword_classify_us": round(elapsed / rounds * 1e6, 2),
    }


async def bench_redis(url: str, rounds: int = 300) -> dict[str, float]:
    redis = redis_client(url)
    keyring = Keyring(b"bench-master-key-0123456789")
    tenants = TenantRegistry.load(ROOT / "prompts")
    privacy = Privacy.build(redis, ConversationStore(redis, keyring, shards=8), keyring, tenants, shards=8)
    subject = privacy.subject("default", "919876543210")
    gate = privacy.gate
    may, turn, append = [], [], []
    for i in range(rounds):
        t = time.perf_counter()
        await gate.may("default", subject, Purpose.REPLY)
        may.append(time.perf_counter() - t)
        t = time.perf_counter()  # what a text turn adds around the model and the send
        gate.keywords.match("default", MESSAGES[0])
        await gate.handed_off(subject)
        for _ in range(3):
            await gate.may("default", subject, Purpose.REPLY)
        await gate.disclosure("default", subject, MESSAGES[0])
        await gate.may("default", subject, Purpose.RETAIN_CONTENT)
        await gate.processed(
            "default", subject, ProcessingRecord(event="turn", subject=subject, outcome="replied")
        )
        turn.append(time.perf_counter() - t)
        t = time.perf_counter()
        context = Context(method=Method.KEYWORD, channel="whatsapp", actor="subject", config_version="b")
        intent = Intent.OPT_OUT if i % 2 == 0 else Intent.OPT_IN
        await privacy.consent.apply(
            subject, transition(await privacy.consent.current(subject), intent), context
        )
        append.append(time.perf_counter() - t)
    checked = time.perf_counter()
    ok = (await privacy.consent.ledger.verify("default")).ok
    verify_s = time.perf_counter() - checked
    events = len(await privacy.consent.ledger.records("default"))
    await redis.aclose()
    return {
        "may_us": _median_us(may),
        "gate_per_text_turn_us": _median_us(turn),
        "keyword_transition_with_ledger_us": _median_us(append),
        "ledger_events": events,
        "ledger_verify_ms": round(verify_s * 1000, 1),
        "ledger_ok": ok,
    }


def main() -> None:
    print("consent", bench_keywords(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(Path(folder) / "redis")
        server.start()
        try:
            print("consent", asyncio.run(bench_redis(server.url)), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
