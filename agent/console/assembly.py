"""Wires the console from the deployment's parts (the composition root passes them in), and the two commands:
`leadclose console` (its own listener) and `leadclose staff add|list|remove`."""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agent.analytics.reader import AnalyticsReader
from agent.console.accounts import StaffAccounts
from agent.console.app import ConsoleParts, create_console_app
from agent.console.cases import CaseBook, runtime_cases
from agent.console.follow_up import FollowUps
from agent.console.replies import StaffReplies
from agent.console.sessions import LoginThrottle, Sessions
from agent.console.takeover import Takeover
from agent.console.view import ConversationView, Handback
from agent.storage.handoff import HandoffFlags
from agent.storage.inbox import InboxIndex
from agent.storage.keyring import master_secret
from agent.storage.staff_thread import StaffThread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from argon2 import PasswordHasher
    from fastapi import FastAPI

    from agent.console.drafts import DraftDesk
    from agent.console.playground_turn import EngineSource, Playground
    from agent.metrics import Metrics
    from agent.privacy.assembly import Privacy
    from agent.privacy.rights import SubjectRights
    from agent.settings import Settings
    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry
    from agent.whatsapp import GraphClient
    from pipelines.pii import PiiGuard


def staff_ref_key(settings: Settings) -> bytes:
    """The key e-mail references are HMACs under, derived from the master key (its own domain)."""
    if settings.master_key is None:
        raise ValueError("the console needs LEADCLOSE_MASTER_KEY")
    return hashlib.sha256(
        b"leadclose/staff\0" + master_secret(settings.master_key.get_secret_value())
    ).digest()


def console_parts(
    redis: RedisClient,
    privacy: Privacy,
    tenants: TenantRegistry,
    graph: GraphClient,
    metrics: Metrics,
    pii: PiiGuard,
    *,
    ref_key: bytes,
    shards: int,
    secure_cookies: bool = True,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], float] = time.time,
    drafts: DraftDesk | None = None,
    playground: Playground | None = None,
) -> ConsoleParts:
    index = InboxIndex(redis, clock=clock)
    thread = StaffThread(redis, privacy.store, shards=shards, index=index, clock=clock)
    takeover = Takeover(redis, index, shards=shards, clock=clock)
    replies = StaffReplies(redis, graph, tenants, privacy.gate, thread, metrics, shards=shards, clock=clock)
    flags = HandoffFlags(redis, shards=shards, index=index)
    view = ConversationView(privacy.store, privacy.gate, flags, thread, takeover, replies)
    return ConsoleParts(
        accounts=StaffAccounts(redis, ref_key, hasher=hasher, clock=clock),
        sessions=Sessions(redis, clock=clock),
        throttle=LoginThrottle(redis),
        index=index,
        takeover=takeover,
        view=view,
        handback=Handback(privacy.store, thread, takeover, privacy.gate, pii, clock=clock),
        replies=replies,
        rights=privacy.rights,
        tenants=tenants,
        analytics=AnalyticsReader(redis),
        secure_cookies=secure_cookies,
        drafts=drafts,
        playground=playground,
    )


def draft_desk(
    settings: Settings, tenants: TenantRegistry, rights: SubjectRights, engines: EngineSource | None = None
) -> DraftDesk:
    """Drafts of the folders under the prompts directory, checked by `prompts validate`'s validator; `try`
    runs on `engines` (the console's models)."""
    from agent.console.drafts import DraftDesk, folder_checker
    from agent.tenants.drafts import TenantVersions

    checker = folder_checker(settings, tenants)
    return DraftDesk(TenantVersions(settings.prompts_dir), checker, rights, tenants, engines)


@contextlib.asynccontextmanager
async def open_console(settings: Settings) -> AsyncIterator[FastAPI]:
    """The console app over the same services as the workers, its follow-ups and tenant reload running until
    the context ends. Its PII engine is the runtime's (`pii_guard`: one construction, the same settings); its
    models (for the playground, a draft's try and the regression cases) load on first use, once."""
    import asyncio

    from agent.console.playground_store import PlaygroundStore
    from agent.console.playground_turn import LazyRuntime, Playground
    from agent.engines.runtime import pii_guard
    from agent.metrics import Metrics
    from agent.services import Services
    from agent.tenants.reload import watch_tenants

    async with contextlib.AsyncExitStack() as stack:
        services = await stack.enter_async_context(Services.open(settings))
        tenants, redis = services.tenants, services.redis
        pii = pii_guard(settings)
        stack.callback(pii.shutdown)
        models = LazyRuntime(settings, services.http, tenants)
        stack.push_async_callback(models.aclose)
        parts = console_parts(
            redis, services.privacy, tenants, services.graph(), Metrics(), pii,
            ref_key=staff_ref_key(settings), shards=services.queue_config.shards,
            secure_cookies=settings.console_secure_cookies,
            drafts=draft_desk(settings, tenants, services.privacy.rights, models),
            playground=Playground(PlaygroundStore(redis, services.keyring), tenants, models),
        )  # fmt: skip
        parts = replace(parts, cases=CaseBook(settings.prompts_dir, runtime_cases(settings, models)))
        stop = asyncio.Event()
        follow_ups = asyncio.create_task(FollowUps(parts.index, parts.replies, tenants).run(stop))
        # Published drafts (and any edit of the folders) reach the console's own copy too.
        reload = asyncio.create_task(watch_tenants(tenants, stop, every_s=settings.prompts_reload_s))
        try:
            yield create_console_app(parts)
        finally:
            stop.set()
            await follow_ups
            await reload


async def run_console(settings: Settings) -> None:
    """`leadclose console`: the console on its own listener."""
    import uvicorn

    from agent.logs import configure_logging

    configure_logging(redact_budget_s=settings.log_redact_budget_s)
    async with open_console(settings) as app:
        config = uvicorn.Config(
            app, host=settings.console_host, port=settings.console_port, log_level="warning", access_log=False
        )
        await uvicorn.Server(config).serve()


async def staff_command(
    settings: Settings, action: str, tenant: str, *, email: str | None = None, role: str = "agent",
    password: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`leadclose staff add|list|remove --tenant T [--email E --role R]` (the password comes from stdin)."""
    from agent.console.accounts import ROLES
    from agent.storage.redis_client import redis_client
    from agent.tenants.registry import TenantError, TenantRegistry

    tenants = TenantRegistry.load(settings.prompts_dir, egress=settings.egress_policy())
    if tenant not in tenants.ids():
        raise TenantError(f"no tenant {tenant!r} under {settings.prompts_dir}")
    redis = redis_client(settings.redis_url)
    try:
        accounts = StaffAccounts(redis, staff_ref_key(settings))
        if action == "list":
            return {
                "tenant": tenant,
                "staff": [{"email": s.email, "role": s.role} for s in await accounts.list(tenant)],
            }
        if email is None:
            raise ValueError("--email is required")
        if action == "remove":
            return {"tenant": tenant, "removed": await accounts.remove(tenant, email)}
        if role not in ROLES or password is None:
            raise ValueError("add needs --role owner|agent and a password on stdin")
        staff = await accounts.add(tenant, email, role, password)
        return {"tenant": tenant, "email": staff.email, "role": staff.role, "added": True}
    finally:
        await redis.aclose()
