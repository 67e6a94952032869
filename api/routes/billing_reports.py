"""Receivables reports: aging and revenue, as JSON or (``format=csv`` or
``Accept: text/csv``) as CSV."""

import csv
import enum
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import Requires, SessionDep
from api.openapi import errors
from api.schemas.payments import (
    AgingReportRead,
    AgingRowRead,
    AgingTotalRead,
    RevenueReportRead,
    RevenueRowRead,
)
from core import pagination
from core.errors import BadRequest
from core.permissions import Permission
from core.principal import Principal
from services.billing import reports

router = APIRouter(prefix="/reports")

Reader = Annotated[Principal, Requires(Permission.billing_read)]

CSV_TYPE = "text/csv"
AGING_COLUMNS = ("client_id", "client_name", "currency", *reports.BUCKETS, "total")
REVENUE_COLUMNS = (
    "month",
    "currency",
    "invoiced",
    "credited",
    "net_invoiced",
    "received",
    "refunded",
    "net_received",
)


class ReportFormat(enum.StrEnum):
    json = "json"
    csv = "csv"


FormatParam = Annotated[
    ReportFormat | None,
    Query(description="csv for a spreadsheet; without it, the Accept header decides."),
]


def _wants_csv(request: Request, requested: ReportFormat | None) -> bool:
    if requested is not None:
        return requested == ReportFormat.csv
    return CSV_TYPE in request.headers.get("accept", "")


# Both reports answer in CSV too, when asked (format=csv or Accept: text/csv).
_CSV_TOO: dict[int | str, dict[str, Any]] = {
    **errors(BadRequest),
    200: {"content": {CSV_TYPE: {"schema": {"type": "string"}}}},
}


def _csv(name: str, header: tuple[str, ...], rows: list[list[object]]) -> Response:
    out = io.StringIO()
    csv.writer(out).writerows(reports.csv_rows(header, rows))
    return Response(
        out.getvalue(),
        media_type=f"{CSV_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/receivables-aging", response_model=AgingReportRead, responses=_CSV_TOO)
async def receivables_aging(
    request: Request,
    principal: Reader,
    session: SessionDep,
    as_of: Annotated[
        date | None, Query(description="Age against this day; today in the firm's time zone.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=pagination.MAX_LIMIT, description="Rows per page (1 to 100).")
    ] = pagination.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="The previous page's next_cursor.")] = None,
    totals_only: Annotated[
        bool,
        Query(description="Only the firm's totals per currency, without the rows per client."),
    ] = False,
    format: FormatParam = None,
) -> Response:
    """What each client owes, by days past due. In CSV the next page's cursor is in the
    ``Next-Cursor`` header."""
    report = await reports.receivables_aging(
        session,
        principal,
        as_of=as_of,
        limit=limit,
        cursor=reports.decode_aging_cursor(cursor) if cursor is not None else None,
        totals_only=totals_only,
    )
    if _wants_csv(request, format):
        response = _csv(
            f"receivables-aging-{report.as_of.isoformat()}",
            AGING_COLUMNS,
            [[getattr(row, column) for column in AGING_COLUMNS] for row in report.rows],
        )
        if report.next_cursor is not None:
            response.headers["Next-Cursor"] = report.next_cursor
        return response
    body = AgingReportRead(
        as_of=report.as_of,
        items=[
            AgingRowRead(
                client_id=row.client_id,
                client_name=row.client_name,
                currency=row.currency,
                total=row.total,
                **{name: getattr(row, name) for name in reports.BUCKETS},
            )
            for row in report.rows
        ],
        totals=[
            AgingTotalRead(
                currency=total.currency,
                total=total.total,
                **{name: getattr(total, name) for name in reports.BUCKETS},
            )
            for total in report.totals
        ],
        next_cursor=report.next_cursor,
    )
    return JSONResponse(body.model_dump(mode="json"))


@router.get("/revenue", response_model=RevenueReportRead, responses=_CSV_TOO)
async def revenue(
    request: Request,
    principal: Reader,
    session: SessionDep,
    date_from: Annotated[
        date | None, Query(alias="from", description="First day (default: 11 months back).")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="Last day (default: today).")
    ] = None,
    format: FormatParam = None,
) -> Response:
    """Per month and currency: invoiced minus credited, received minus refunded."""
    report = await reports.revenue(session, principal, date_from=date_from, date_to=date_to)
    if _wants_csv(request, format):
        return _csv(
            f"revenue-{report.date_from.isoformat()}-{report.date_to.isoformat()}",
            REVENUE_COLUMNS,
            [[getattr(row, column) for column in REVENUE_COLUMNS] for row in report.rows],
        )
    body = RevenueReportRead(
        date_from=report.date_from,
        date_to=report.date_to,
        items=[
            RevenueRowRead(**{column: getattr(row, column) for column in REVENUE_COLUMNS})
            for row in report.rows
        ],
    )
    return JSONResponse(body.model_dump(mode="json", by_alias=True))
