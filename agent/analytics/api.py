"""The analytics API and page, as a router the staff console mounts.

    router = analytics_router(AnalyticsReader(redis), tenant=console_tenant_dependency, zone_of=...)
    app.include_router(router)

`tenant` is a FastAPI dependency that yields the signed-in staff member's tenant id (the console supplies
the real one, with its session, role and audit checks; tests pass a simple one). It decides whose numbers
are read: nothing in a request names a tenant. Routes:

- `GET /api/analytics?from=YYYY-MM-DD&to=YYYY-MM-DD` → JSON (`export.report_json`)
- `GET /api/analytics.csv?from=&to=` → CSV download (`export.report_csv`)
- `GET /analytics?from=&to=` → the page (`templates/analytics/page.html`, which includes `fragment.html`:
  a console passes `templates` that find its own `analytics/page.html` first, in its layout)
- `GET /analytics/style.css` → the section's stylesheet (a file: no inline style for a strict CSP)

Without `from`/`to`: the 30 days up to today in the tenant's timezone.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from agent.analytics.charts import stacked_bars
from agent.analytics.export import report_csv, report_json
from agent.analytics.fields import TURN_CLASSES
from agent.analytics.reader import ALL, MAX_DAYS, RangeError
from agent.analytics.schema import AnalyticsReport

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo

    from agent.analytics.reader import AnalyticsReader, Report

TEMPLATES_DIR = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "analytics.css"
DEFAULT_DAYS = 30
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
From = Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")]
To = Annotated[str | None, Query(alias="to", description="last day (inclusive), YYYY-MM-DD")]


def _date(value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, "dates are YYYY-MM-DD") from None  # the value itself is not echoed


def page_context(report: Report) -> dict[str, Any]:
    """What `analytics/fragment.html` needs."""
    labels = [d.day.isoformat() for d in report.days]
    turns = stacked_bars(
        "Turns per day, by how they ended",
        labels,
        {k: [d.channel(ALL).counts[k] for d in report.days] for k in TURN_CLASSES},
    )
    channels = stacked_bars(
        "Turns per day, by channel",
        labels,
        {c: [d.channel(c).counts["turns"] for d in report.days] for c in ("text", "voice", "call")},
    )
    reply = stacked_bars(
        "Median time to reply per day (seconds)",
        labels,
        {"p50": [(d.channel(ALL).reply.p50_ms or 0) / 1000 for d in report.days]},
        unit="s",
    )
    return {"report": report, "charts": (turns, channels, reply), "all": report.channel(ALL)}


def analytics_router(
    reader: AnalyticsReader,
    *,
    tenant: Callable[..., Any],
    zone_of: Callable[[str], tzinfo] = lambda _tenant: UTC,
    templates: Jinja2Templates | None = None,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """`tenant`: the dependency yielding the signed-in tenant id (the console's; see the module doc)."""
    pages = templates or Jinja2Templates(directory=TEMPLATES_DIR)
    router = APIRouter(tags=["analytics"])
    signed_in = Depends(tenant)

    async def read(tenant_id: str, start: str | None, end: str | None) -> Report:
        last = _date(end) or datetime.fromtimestamp(clock(), zone_of(tenant_id)).date()
        first = _date(start) or last - timedelta(days=DEFAULT_DAYS - 1)
        try:
            return await reader.report(tenant_id, first, last)
        except RangeError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.get(
        "/api/analytics",
        summary=f"Per day and channel, at most {MAX_DAYS} days",
        response_model=AnalyticsReport,
        response_model_by_alias=True,
    )
    async def analytics_json(
        tenant_id: str = signed_in, start: From = None, end: To = None
    ) -> AnalyticsReport:
        return AnalyticsReport.model_validate(report_json(await read(tenant_id, start, end)))

    @router.get("/api/analytics.csv", summary="The same as CSV: a row per day and channel, then totals")
    async def analytics_csv(tenant_id: str = signed_in, start: From = None, end: To = None) -> Response:
        report = await read(tenant_id, start, end)
        name = f"analytics-{report.start.isoformat()}-{report.end.isoformat()}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/analytics/style.css", include_in_schema=False)
    async def analytics_css() -> FileResponse:
        return FileResponse(STYLESHEET, media_type="text/css")

    @router.get("/analytics", response_class=HTMLResponse, include_in_schema=False)
    async def analytics_page(
        request: Request, tenant_id: str = signed_in, start: From = None, end: To = None
    ) -> HTMLResponse:
        report = await read(tenant_id, start, end)
        return pages.TemplateResponse(request, "analytics/page.html", page_context(report))

    return router
