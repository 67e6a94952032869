"""SAML signatures and digests must use SHA-256 or stronger, in the Assertion's signature and
in the Response's: an IdP still on SHA-1 gets the generic refusal, and the log says which
algorithm, where."""

from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.integration.identity.test_sso_login import ACS_LOG, ADA, Refusal, SsoFirm, configure
from tests.saml_idp import (
    RSA_SHA1,
    RSA_SHA256,
    SHA1,
    SHA1_ALGORITHMS,
    SHA256,
    SHA256_ALGORITHMS,
    Algorithms,
    TestIdP,
    new_directory,
    remove_directory,
)

SHA512 = Algorithms(
    signature="http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    digest="http://www.w3.org/2001/04/xmlenc#sha512",
)


@pytest.fixture(scope="module")
def idp() -> Iterator[TestIdP]:
    directory = new_directory()
    yield TestIdP(directory, "legacy")
    remove_directory(directory)


@pytest.fixture
async def firm(client: AsyncClient, db: AsyncSession, idp: TestIdP) -> SsoFirm:
    return await configure(client, db, idp)


@pytest.fixture
def reasons(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level("WARNING", logger=ACS_LOG):
        yield caplog


@pytest.mark.parametrize(
    ("algorithms", "reason"),
    [
        (SHA1_ALGORITHMS, f"Assertion's signature uses '{RSA_SHA1}'"),
        (
            Algorithms(signature=RSA_SHA256, digest=SHA1),
            f"Assertion's signature digests '#[^']+' with '{SHA1}'",
        ),
        (
            Algorithms(signature=RSA_SHA1, digest=SHA256),
            f"Assertion's signature uses '{RSA_SHA1}'",
        ),
    ],
    ids=["rsa-sha1", "sha256-signature-sha1-digest", "sha1-signature-sha256-digest"],
)
async def test_an_assertion_signed_with_sha1_is_refused(
    firm: SsoFirm,
    reasons: pytest.LogCaptureFixture,
    algorithms: Algorithms,
    reason: str,
) -> None:
    started = await firm.start()
    legacy = firm.idp.respond(started.seen, ADA, algorithms=algorithms)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, legacy)
        await refusal.check(response, reason)


@pytest.mark.parametrize(
    ("algorithms", "reason"),
    [
        (SHA1_ALGORITHMS, f"Response's signature uses '{RSA_SHA1}'"),
        (
            Algorithms(signature=RSA_SHA256, digest=SHA1),
            f"Response's signature digests '#[^']+' with '{SHA1}'",
        ),
    ],
    ids=["rsa-sha1", "sha256-signature-sha1-digest"],
)
async def test_a_response_signed_with_sha1_around_a_sha256_assertion_is_refused(
    firm: SsoFirm,
    reasons: pytest.LogCaptureFixture,
    algorithms: Algorithms,
    reason: str,
) -> None:
    started = await firm.start()
    legacy = firm.idp.respond(started.seen, ADA, response_algorithms=algorithms)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, legacy)
        await refusal.check(response, reason)


@pytest.mark.parametrize("algorithms", [SHA256_ALGORITHMS, SHA512], ids=["sha256", "sha512"])
async def test_sha256_and_stronger_are_accepted_in_the_assertion_and_the_response(
    firm: SsoFirm, algorithms: Algorithms
) -> None:
    started = await firm.start()
    signed = firm.idp.respond(
        started.seen, ADA, algorithms=algorithms, response_algorithms=algorithms
    )

    response = await firm.answer(started, signed)

    assert response.status_code == 303, response.text
    assert await firm.sessions() == 1


async def test_sp_metadata_advertises_only_sha256_or_stronger(firm: SsoFirm) -> None:
    """IdPs that read the SAML algorithm-support extension pick from what the SP lists."""
    metadata = (await firm.client.get(f"/v1/sso/{firm.slug}/metadata")).text

    assert RSA_SHA256 in metadata and SHA256 in metadata
    for weak in ("sha1", "md5", "ripemd160", "sha224"):
        assert f'{weak}"' not in metadata, weak
