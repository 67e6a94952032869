"""A template's documents for the builder: each measured from its current version (title,
page count and sizes) on the template's read, and a page previewed as PNG — only for the
template's own documents, within their pages, for the template's firm."""

import io
import uuid
from typing import Any

from httpx import AsyncClient
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Role
from tests.esignature_factories import sample_pdf, upload_pdf
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem


async def template_of(api: AsyncClient, actor: Actor, document_id: str) -> dict[str, Any]:
    body = {
        "name": f"Letter {uuid.uuid4().hex[:6]}",
        "title": "Engagement letter",
        "document_ids": [document_id],
        "roles": [{"key": "client", "name": "Client"}],
        "fields": [
            {
                "role_key": "client",
                "document_id": document_id,
                "kind": "signature",
                "page": 2,
                "x": 0.1,
                "y": 0.8,
                "width": 0.3,
                "height": 0.05,
            }
        ],
    }
    response = await api.post("/v1/envelope-templates", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    template: dict[str, Any] = response.json()
    return template


async def test_a_templates_documents_are_measured_and_previewed(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    document = await upload_pdf(api, owner, title="Engagement letter")
    template = await template_of(api, owner, document["id"])
    [measured] = template["documents"]
    assert measured["document_id"] == document["id"]
    assert (measured["title"], measured["page_count"], measured["problem"]) == (
        "Engagement letter",
        2,
        None,
    )
    assert [[round(side) for side in size] for size in measured["page_sizes"]] == [[595, 842]] * 2
    path = f"/v1/envelope-templates/{template['id']}"
    staff = await add_user(db, owner, Role.staff)
    read = await api.get(path, headers=staff.headers)
    assert read.status_code == 200 and read.json()["documents"] == template["documents"]
    listed = await api.get("/v1/envelope-templates", headers=owner.headers)
    assert "documents" not in listed.json()["items"][0]

    preview = await api.get(
        f"{path}/documents/{document['id']}/pages/2", params={"width": 300}, headers=staff.headers
    )
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(preview.content)).width == 300

    # The preview follows the document's current version, as the template does.
    newer = await api.post(
        f"/v1/documents/{document['id']}/versions",
        files={"file": ("v2.pdf", sample_pdf(3), "application/pdf")},
        headers=owner.headers,
    )
    assert newer.status_code == 201, newer.text
    page_3 = await api.get(f"{path}/documents/{document['id']}/pages/3", headers=owner.headers)
    assert page_3.status_code == 200, page_3.text
    read = await api.get(path, headers=owner.headers)
    assert read.json()["documents"][0]["page_count"] == 3


async def test_previews_only_of_the_templates_documents_and_pages(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    document = await upload_pdf(api, owner)
    template = await template_of(api, owner, document["id"])
    pages = f"/v1/envelope-templates/{template['id']}/documents/{document['id']}/pages"
    assert_problem(await api.get(f"{pages}/3", headers=owner.headers), 404)
    # A page number below 1 is no address at all, as for an envelope's page.
    assert_problem(await api.get(f"{pages}/0", headers=owner.headers), 404)
    assert_problem(await api.get(f"{pages}/1?width=100", headers=owner.headers), 422)
    # The firm's own library document, but not one of the template's.
    other_document = await upload_pdf(api, owner, title="Another letter")
    not_in_it = f"/v1/envelope-templates/{template['id']}/documents/{other_document['id']}"
    assert_problem(await api.get(f"{not_in_it}/pages/1", headers=owner.headers), 404)
    # Another firm's template, even with a document of that firm's own library.
    rival = await make_firm(db, "Rival Accounting")
    theirs = await upload_pdf(api, rival)
    assert_problem(await api.get(f"{pages}/1", headers=rival.headers), 404)
    crossed = f"/v1/envelope-templates/{template['id']}/documents/{theirs['id']}/pages/1"
    assert_problem(await api.get(crossed, headers=rival.headers), 404)
    assert_problem(await api.get(crossed, headers=owner.headers), 404)


async def test_a_binned_document_is_listed_with_its_problem(api: AsyncClient, owner: Actor) -> None:
    document = await upload_pdf(api, owner, title="Soon binned")
    template = await template_of(api, owner, document["id"])
    binned = await api.delete(f"/v1/documents/{document['id']}", headers=owner.headers)
    assert binned.status_code in (200, 204), binned.text
    path = f"/v1/envelope-templates/{template['id']}"
    read = await api.get(path, headers=owner.headers)
    assert read.status_code == 200, read.text
    [listed] = read.json()["documents"]
    assert (listed["title"], listed["page_count"], listed["page_sizes"]) == ("Soon binned", 0, [])
    assert listed["problem"] == "no such document in your firm's library"
    preview = await api.get(f"{path}/documents/{document['id']}/pages/1", headers=owner.headers)
    assert_problem(preview, 422)
