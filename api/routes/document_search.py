"""Full-text search over the caller's firm's documents (services.documents.search)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Requires, SessionDep
from api.openapi import errors
from api.schemas.document_search import DocumentSearchHit, DocumentSearchPage
from core import pagination
from core.errors import BadRequest
from core.permissions import Permission
from core.principal import Principal
from models import DocumentStatus
from services.clients import Tag
from services.documents import search
from services.documents.documents import DocumentType

router = APIRouter(prefix="/document-search")

Reader = Annotated[Principal, Requires(Permission.documents_read)]


@router.get("", responses=errors(BadRequest))
async def search_documents(
    principal: Reader,
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=search.MAX_QUERY_LENGTH,
            description=(
                "The words to find in the title, tags and text: quotes for a phrase, "
                "'or' between alternatives, '-' before a word to exclude."
            ),
        ),
    ],
    client_id: uuid.UUID | None = None,
    tag: Annotated[Tag | None, Query(max_length=50)] = None,
    document_type: Annotated[DocumentType | None, Query(max_length=64)] = None,
    status: DocumentStatus | None = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=pagination.MAX_LIMIT,
            description="How many items to return (1 to 100; 20 unless given).",
        ),
    ] = search.DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=pagination.MAX_CURSOR_LENGTH,
            description="The next_cursor of the previous page; omit it for the first page.",
        ),
    ] = None,
) -> DocumentSearchPage:
    """The current versions of the firm's documents (not those in the bin) that match
    ``q``, best match first, with highlights; keyset-paginated. A blank ``q`` or a cursor
    not made by this endpoint is a 400."""
    result = await search.search_documents(
        session,
        principal,
        q=q,
        filters=search.SearchFilters(
            client_id=client_id, tag=tag, document_type=document_type, status=status
        ),
        limit=limit,
        cursor=search.decode_cursor(cursor) if cursor is not None else None,
        into=DocumentSearchHit.model_validate,
    )
    return DocumentSearchPage(items=result.items, next_cursor=result.next_cursor)
