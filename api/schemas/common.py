"""Shapes every list shares (the page envelope and its query parameters), and the path
parameters several routes share."""

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query
from pydantic import BaseModel

from api.openapi import raises
from core import pagination
from core.bounds import INT4_MAX
from core.errors import BadRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def page_of(items: list[T], page: pagination.Page[Any]) -> Page[T]:
    """The response envelope for ``items`` (the page's rows, already converted)."""
    return Page(items=items, next_cursor=page.next_cursor)


@raises(BadRequest)
async def page_params(
    limit: Annotated[
        int,
        Query(ge=1, le=pagination.MAX_LIMIT, description="How many items to return (1 to 100)."),
    ] = pagination.DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(description="The next_cursor of the previous page; omit it for the first page."),
    ] = None,
) -> pagination.PageParams:
    position = pagination.decode_cursor(cursor) if cursor is not None else None
    return pagination.PageParams(limit=limit, cursor=position)


PageDep = Annotated[pagination.PageParams, Depends(page_params)]

# Outside its range no version can exist: api.errors answers such a number with a 404.
VersionNumber = Annotated[
    int, Path(ge=1, le=INT4_MAX, description="A published version's number: 1, 2, …")
]

# The rule a slug follows from signup on (api.schemas.auth.FirmSlug).
FIRM_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
# Any other text names no firm (a 404 from api.errors), and a slug is then safe wherever a
# response repeats it, such as the path of a cookie.
FirmSlugPath = Annotated[
    str, Path(pattern=FIRM_SLUG_PATTERN, description="The firm's slug, chosen at signup.")
]
