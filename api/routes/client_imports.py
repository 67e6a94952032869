"""Client imports from CSV. The upload is checked whole before anything is stored; the
import itself runs as the ``client-import-<id>`` workflow, and these routes report on it.

This router is included before the clients router, so ``/clients/imports`` is never
taken for a client id."""

import hashlib
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, Requires, SessionDep, SettingsDep
from api.openapi import errors
from api.schemas.client_imports import ClientImportRead, ClientImportReportRead
from api.schemas.common import Page, PageDep, page_of
from core.errors import BadRequest, PayloadTooLarge
from core.permissions import Permission
from core.principal import Principal
from services import client_imports

router = APIRouter(prefix="/clients/imports")

Importer = Annotated[Principal, Requires(Permission.clients_import)]

CSV_FILE = File(
    description=(
        "UTF-8 CSV (a BOM is fine) with a header row. Columns, matched by name "
        "case-insensitively: name (required), kind, email, phone, status, tags (separated "
        "by ';'), external_ref. Other columns are reported as unknown_columns and ignored."
    )
)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ClientImportRead,
    responses=errors(BadRequest, PayloadTooLarge),
)
async def create_import(
    request: Request,
    file: Annotated[UploadFile, CSV_FILE],
    principal: Importer,
    session: SessionDep,
    settings: SettingsDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Check the file and start importing it; follow progress at the Location returned.
    Rows whose email or external_ref duplicate an existing client or an earlier row are
    skipped, invalid rows are reported with their line and reason. Accepts an
    ``Idempotency-Key``: the same file again with the same key returns the first import."""
    # One byte past the limit is enough to know the file is too large.
    data = await file.read(settings.import_max_bytes + 1)

    async def create() -> ClientImportRead:
        summary = await client_imports.create_import(
            session,
            principal,
            filename=file.filename,
            data=data,
            max_bytes=settings.import_max_bytes,
            max_rows=settings.import_max_rows,
        )
        return ClientImportRead.from_summary(summary)

    upload = {"filename": file.filename, "sha256": hashlib.sha256(data).hexdigest()}
    response = await idempotency.run(
        session, principal, idem, payload=upload, status_code=202, handler=create
    )
    import_id = json.loads(bytes(response.body))["id"]
    response.headers["Location"] = f"{request.url.path}/{import_id}"
    return response


@router.get("")
async def list_imports(
    principal: Importer, session: SessionDep, page: PageDep
) -> Page[ClientImportRead]:
    """Newest first, keyset-paginated."""
    result = await client_imports.list_imports(session, principal, page=page)
    return page_of([ClientImportRead.from_summary(s) for s in result.items], result)


@router.get("/{import_id}")
async def get_import(
    import_id: uuid.UUID, principal: Importer, session: SessionDep
) -> ClientImportReportRead:
    """Status, counts, unknown columns and the first 1,000 row errors."""
    report = await client_imports.get_report(session, principal, import_id)
    return ClientImportReportRead.from_report(report)
