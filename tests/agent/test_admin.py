"""The admin API of the real app on a real redis-server, with two tenants: per-tenant bearer tokens, every
access in the tenant's audit log, and no input echoed back in an error."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import zipfile
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio

from agent.http.app import create_service
from agent.metrics import Metrics
from agent.privacy.ledger import HashChain
from agent.storage.erasure import Epochs
from agent.storage.keys import DEFAULT_SHARDS, conversation_key
from tests.agent.stack import settings as stack_settings
from tests.agent.tenant_folders import copy_tenant
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from redis.asyncio import Redis

    from tests.redis_server import RedisServer

ALICE = "919876543210"
DEFAULT_TOKEN, ACME_TOKEN = "default-admin-token-0123456789", "acme-admin-token-9876543210"
OPERATOR_TOKEN = "operator-admin-token-5555555555"


@pytest.fixture
def prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped tenant plus a second one (`acme`) with its own number and admin token."""
    root = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts" / "default", root / "default")
    copy_tenant(ROOT / "prompts" / "default", root / "acme")
    yaml_path = root / "acme" / "tenant.yaml"
    text = yaml_path.read_text().replace(wh.PHONE_NUMBER_ID, "100000000000099")
    yaml_path.write_text(text)
    monkeypatch.setenv("LEADCLOSE_TENANT_DEFAULT__ADMIN_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("LEADCLOSE_TENANT_ACME__ADMIN_TOKEN", ACME_TOKEN)
    return root


@pytest_asyncio.fixture
async def admin(prompts: Path, redis: Redis, redis_server: RedisServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = stack_settings(redis_server.url, prompts, prompts_reload_s=0.2, admin_token=OPERATOR_TOKEN)
    service = create_service(settings, metrics=Metrics())
    async with (
        service.public.router.lifespan_context(service.public),  # owns what the ops listener uses
        httpx.AsyncClient(transport=httpx.ASGITransport(app=service.ops), base_url="http://admin") as client,
    ):
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _audit(redis: Redis, tenant: str) -> list[dict[str, object]]:
    return [r.body for r in await HashChain(redis, "audit").records(tenant)]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": f"Basic {DEFAULT_TOKEN}"}, 401),
        (_bearer(ACME_TOKEN), 403),  # a valid token, of another tenant
    ],
)
@pytest.mark.parametrize("action", ["status", "export", "erase", "restrict", "object", "rectify", "record"])
async def test_wrong_missing_or_foreign_tokens_read_nothing(
    admin: httpx.AsyncClient, redis: Redis, headers: dict[str, str], status: int, action: str
) -> None:
    response = await admin.post(f"/admin/default/consent/{action}", json={"user": ALICE}, headers=headers)
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert ALICE not in response.text
    (denied,) = await _audit(redis, "default")
    assert (denied["action"], denied["outcome"], denied["subject"]) == (action, "denied", None)
    assert [k async for k in redis.scan_iter(match="lc:{*}:c:*")] == []  # no subject was looked up


async def test_a_tenant_token_does_not_open_an_unknown_tenant(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/admin/nobody/consent/status", json={"user": ALICE}, headers=_bearer(DEFAULT_TOKEN)
    )
    assert response.status_code == 401


async def test_every_successful_access_is_audited(admin: httpx.AsyncClient, redis: Redis) -> None:
    auth = _bearer(DEFAULT_TOKEN)
    record = {"user": "+91 98765 43210", "purpose": "marketing", "state": "granted"}
    assert (await admin.post("/admin/default/consent/record", json=record, headers=auth)).json() == {
        "changed": True
    }
    status = (await admin.post("/admin/default/consent/status", json={"user": ALICE}, headers=auth)).json()
    assert status["states"]["marketing"] == "granted"  # "+91 98765 43210" and ALICE are one person
    assert "marketing" in status["allowed"]
    profile = {"user": ALICE, "profile": {"name": "Ravi Kumar", "language": "hi"}}
    assert (await admin.post("/admin/default/consent/rectify", json=profile, headers=auth)).json() == {
        "fields": ["language", "name"]
    }
    export = await admin.post("/admin/default/consent/export", json={"user": ALICE}, headers=auth)
    assert export.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert json.loads(archive.read("profile.json")) == {"name": "Ravi Kumar", "language": "hi"}
    restricted = await admin.post("/admin/default/consent/restrict", json={"user": ALICE}, headers=auth)
    assert restricted.json() == {"restricted": True, "changed": True}
    status = (await admin.post("/admin/default/consent/status", json={"user": ALICE}, headers=auth)).json()
    assert status["allowed"] == []
    objected = await admin.post(
        "/admin/default/consent/object", json={"user": ALICE, "lift": True}, headers=auth
    )
    assert objected.json() == {"objected": False, "changed": False}
    erased = await admin.post("/admin/default/consent/erase", json={"user": ALICE}, headers=auth)
    assert erased.json()["erased"] is True
    audit = await _audit(redis, "default")
    assert [(a["action"], a["actor"], a["outcome"]) for a in audit] == [
        ("record:marketing=granted", "tenant:default", "ok"),
        ("status", "tenant:default", "ok"),
        ("rectify", "tenant:default", "ok"),
        ("export", "tenant:default", "ok"),
        ("restrict", "tenant:default", "ok"),
        ("status", "tenant:default", "ok"),
        ("lift_objection", "tenant:default", "unchanged"),
        ("erase", "tenant:default", "erased"),
    ]
    assert ALICE not in json.dumps(audit)
    assert "Ravi" not in json.dumps(audit)
    assert (await HashChain(redis, "audit").verify("default")).ok
    assert await _audit(redis, "acme") == []  # one tenant's accesses never land in another's log


@pytest.mark.parametrize(
    ("right", "overlay", "lifted"),
    [("restrict", "restricted", "lift_restriction"), ("object", "objected", "lift_objection")],
)
async def test_restriction_and_objection_stop_processing_until_lifted(
    admin: httpx.AsyncClient, redis: Redis, right: str, overlay: str, lifted: str
) -> None:
    """Both rights share one endpoint path: set (twice: the second changes nothing), then lift."""
    auth = _bearer(DEFAULT_TOKEN)

    async def exercise(lift: bool) -> object:
        body = {"user": ALICE, "lift": lift}
        return (await admin.post(f"/admin/default/consent/{right}", json=body, headers=auth)).json()

    async def status() -> dict[str, list[str]]:
        answer = await admin.post("/admin/default/consent/status", json={"user": ALICE}, headers=auth)
        return {k: v for k, v in answer.json().items() if k in ("overlays", "allowed")}

    allowed_before = (await status())["allowed"]
    assert allowed_before  # the default tenant allows some processing to begin with
    assert await exercise(lift=False) == {overlay: True, "changed": True}
    assert await status() == {"overlays": [overlay], "allowed": []}
    assert await exercise(lift=False) == {overlay: True, "changed": False}
    assert await exercise(lift=True) == {overlay: False, "changed": True}
    assert await status() == {"overlays": [], "allowed": allowed_before}
    audit = [(a["action"], a["outcome"]) for a in await _audit(redis, "default")]
    assert audit == [
        ("status", "ok"),
        (right, "ok"),
        ("status", "ok"),
        (right, "unchanged"),
        (lifted, "ok"),
        ("status", "ok"),
    ]


async def test_a_restriction_while_the_persons_erasure_runs_is_a_conflict(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    """The erasure fence holds for an admin overlay too: 409, audited, and no consent hash comes back."""
    auth = _bearer(DEFAULT_TOKEN)
    status = await admin.post("/admin/default/consent/status", json={"user": ALICE}, headers=auth)
    subject = status.json()["subject"]
    await Epochs(redis, shards=DEFAULT_SHARDS).begin(subject)  # an erasure of ALICE runs
    response = await admin.post("/admin/default/consent/restrict", json={"user": ALICE}, headers=auth)
    assert (response.status_code, response.json()) == (
        409,
        {"error": "an erasure of this person is pending or running"},
    )
    assert not await redis.exists(conversation_key(subject, "consent", DEFAULT_SHARDS))
    last = (await _audit(redis, "default"))[-1]
    assert (last["action"], last["outcome"]) == ("restrict", "erasing")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("status", f'{{"user": {ALICE}}}'),  # a number, not a string
        ("status", f'{{"user": "{ALICE}"'),  # not JSON
        ("status", f'["{ALICE}"]'),
        ("rectify", json.dumps({"user": ALICE, "profile": {"language": f"lang-{ALICE}"}})),
        ("rectify", json.dumps({"user": ALICE, "profile": {f"x{ALICE}": "y"}})),
        ("rectify", json.dumps({"user": ALICE, "profile": [ALICE]})),
        ("record", json.dumps({"user": ALICE, "purpose": f"p{ALICE}", "state": "granted"})),
        ("record", json.dumps({"user": ALICE, "purpose": "reply", "state": "noticed"})),
    ],
)
async def test_bad_input_is_refused_without_echoing_it(
    admin: httpx.AsyncClient, path: str, body: str
) -> None:
    response = await admin.post(
        f"/admin/default/consent/{path}",
        content=body,
        headers={**_bearer(DEFAULT_TOKEN), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "98765" not in response.text
    assert set(response.json()) == {"error"}


async def test_the_audit_log_is_readable_with_the_tenants_token_only(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    assert (await admin.get("/admin/default/audit")).status_code == 401
    assert (await admin.get("/admin/default/audit", headers=_bearer(ACME_TOKEN))).status_code == 403
    await admin.post("/admin/default/consent/status", json={"user": ALICE}, headers=_bearer(DEFAULT_TOKEN))
    body = (await admin.get("/admin/default/audit", headers=_bearer(DEFAULT_TOKEN))).json()
    assert body["verified"] is True
    assert [(r["action"], r["outcome"]) for r in body["records"]] == [
        ("audit", "denied"),
        ("audit", "denied"),
        ("status", "ok"),
    ]
    assert (await _audit(redis, "default"))[-1]["action"] == "read_audit"  # reading it is audited too


async def test_a_tenant_added_while_running_is_reachable_with_its_own_token(
    admin: httpx.AsyncClient, prompts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hot reload reaches the admin API too: no restart for a new tenant's token."""
    monkeypatch.setenv("LEADCLOSE_TENANT_BETA__ADMIN_TOKEN", "beta-admin-token-0123456789")
    copy_tenant(prompts / "default", prompts / "beta")
    yaml_path = prompts / "beta" / "tenant.yaml"
    text = yaml_path.read_text().replace(wh.PHONE_NUMBER_ID, "100000000000098")
    yaml_path.write_text(text)
    auth = _bearer("beta-admin-token-0123456789")
    for _ in range(100):
        response = await admin.post("/admin/beta/consent/status", json={"user": ALICE}, headers=auth)
        if response.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert response.status_code == 200
    foreign = await admin.post("/admin/default/consent/status", json={"user": ALICE}, headers=auth)
    assert foreign.status_code == 403


async def test_the_operator_token_opens_every_tenant_and_is_audited_as_the_operator(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    for tenant in ("default", "acme"):
        response = await admin.post(
            f"/admin/{tenant}/consent/status", json={"user": ALICE}, headers=_bearer(OPERATOR_TOKEN)
        )
        assert response.status_code == 200
        assert [a["actor"] for a in await _audit(redis, tenant)] == ["operator"]
    unknown = await admin.post(
        "/admin/nobody/consent/status", json={"user": ALICE}, headers=_bearer(OPERATOR_TOKEN)
    )
    assert unknown.status_code == 401


async def test_an_oversized_body_is_refused_before_it_is_read(admin: httpx.AsyncClient) -> None:
    """The body is a generator counting what the app pulls (httpx's ASGI transport hands it over lazily)."""
    pulled: list[int] = []

    async def body(chunks: int) -> AsyncIterator[bytes]:
        for _ in range(chunks):
            pulled.append(1)
            yield b" " * (64 * 1024)

    headers = {**_bearer(DEFAULT_TOKEN), "Content-Type": "application/json", "Content-Length": str(64 << 20)}
    response = await admin.post("/admin/default/consent/status", content=body(1024), headers=headers)
    assert (response.status_code, response.json()) == (413, {"error": "body too large"})
    assert pulled == []  # the declared length alone refused it
    chunked = {**_bearer(DEFAULT_TOKEN), "Content-Type": "application/json"}
    response = await admin.post("/admin/default/consent/status", content=body(1024), headers=chunked)
    assert response.status_code == 413
    assert len(pulled) == 1  # no length declared: refused at the first chunk past the cap (16 KiB)


async def test_token_guesses_are_throttled_per_client_and_tenant_and_audited(
    admin: httpx.AsyncClient, prompts: Path, redis: Redis, redis_server: RedisServer
) -> None:
    guess = {"user": ALICE}
    for n in range(10):
        response = await admin.post(
            "/admin/default/consent/status", json=guess, headers=_bearer(f"guess-{n}")
        )
        assert response.status_code == 401
    throttled = await admin.post("/admin/default/consent/status", json=guess, headers=_bearer(DEFAULT_TOKEN))
    assert throttled.status_code == 429  # even the right token, from this client, until the window ends
    assert throttled.headers["retry-after"] == "300"
    last = (await _audit(redis, "default"))[-1]
    assert (last["action"], last["outcome"]) == ("status", "throttled")
    # Another tenant is counted apart; another process (a second app on the same Redis) sees the same count.
    assert (
        await admin.post("/admin/acme/consent/status", json=guess, headers=_bearer(ACME_TOKEN))
    ).status_code == 200
    other = create_service(stack_settings(redis_server.url, prompts), metrics=Metrics())
    async with (
        other.public.router.lifespan_context(other.public),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other.ops), base_url="http://admin") as second,
    ):
        response = await second.post(
            "/admin/default/consent/status", json=guess, headers=_bearer(DEFAULT_TOKEN)
        )
        assert response.status_code == 429


async def test_a_success_does_not_reset_the_failed_token_count(admin: httpx.AsyncClient) -> None:
    """Whoever holds tenant default's token cannot use it to guess other tokens (the operator's, another
    tenant's) through default's path without limit: valid requests between the guesses reset nothing, the
    eleventh failure in the window is refused like any other (docs/security.md explains why)."""
    guess, auth = {"user": ALICE}, _bearer(DEFAULT_TOKEN)
    answers = []
    for n in range(10):
        if n % 3 == 0:  # a valid request between the guesses
            answers.append(
                (await admin.post("/admin/default/consent/status", json=guess, headers=auth)).status_code
            )
        headers = _bearer(f"operator-guess-{n}")
        answers.append(
            (await admin.post("/admin/default/consent/status", json=guess, headers=headers)).status_code
        )
    assert answers.count(401) == 10
    assert answers.count(200) == 4  # the valid token works while under the limit ...
    guessed = await admin.post("/admin/default/consent/status", json=guess, headers=_bearer(OPERATOR_TOKEN))
    assert guessed.status_code == 429  # ... and the next guess is refused, even the one that would have hit
    assert (await admin.post("/admin/default/consent/status", json=guess, headers=auth)).status_code == 429
