"""The token codec of the links firmflow emails to people without an account (an invoice's
pay link, a recipient's signing link): ``<firm>.<n1>…<nk>.<mac>``.

``<firm>`` is the firm's id (16 bytes, URL-safe base64, 22 characters), ``n1``…``nk`` are
the link's small public numbers (the expiry in Unix seconds last; a signing link's version
before it) and the MAC is HMAC-SHA256 over ``firm id|subject id|n1|…|nk``, the subject
being the row the link opens (the invoice, the recipient). Nothing in a token is secret:
the firm id only tells the public API which firm's rows to look in. What makes a link
unguessable is the MAC (256 bits), keyed with a key HKDF derives from the server's
encryption keys under the link kind's own label, so no other signed value can pass for it.
The first key signs, every configured key verifies (a key rotation keeps links working
until the old key is dropped), and every key is tried so the time taken does not tell which
one matched."""

import base64
import binascii
import re
import uuid
from collections.abc import Sequence

from core.config import Settings
from core.crypto import configured_keys
from core.security import constant_time_equals, derive_key, mac

_FIRM = r"[A-Za-z0-9_-]{22}"
_NUMBER = r"[0-9]{1,12}"
_MAC = r"[A-Za-z0-9_-]{43}"


def link_keys(settings: Settings, purpose: str) -> tuple[bytes, ...]:
    """The keys of one link kind (``purpose`` is its HKDF label); empty without a server key."""
    return tuple(derive_key(secret, purpose) for secret in configured_keys(settings))


def seal(
    keys: Sequence[bytes], firm_id: uuid.UUID, subject: uuid.UUID, numbers: Sequence[int]
) -> str:
    """The token for ``subject`` of ``firm_id`` carrying ``numbers``, signed with the first key."""
    firm = base64.urlsafe_b64encode(firm_id.bytes).rstrip(b"=").decode()
    signature = mac(keys[0], _signed(firm_id, subject, numbers))
    return ".".join([firm, *(str(number) for number in numbers), signature])


def unseal(
    keys: Sequence[bytes], token: str | None, subject: uuid.UUID, *, count: int
) -> tuple[uuid.UUID, tuple[int, ...]] | None:
    """The firm and the ``count`` numbers of a token one of ``keys`` signed for ``subject``;
    None for anything else (malformed, another subject's, forged), whatever the reason."""
    pattern = re.compile(rf"({_FIRM})((?:\.{_NUMBER}){{{count}}})\.({_MAC})")
    found = pattern.fullmatch(token or "")
    if found is None or not keys:
        return None
    firm_part, number_part, signature = found.groups()
    try:
        firm_id = uuid.UUID(bytes=base64.urlsafe_b64decode(firm_part + "=="))
    except (binascii.Error, ValueError):
        return None
    numbers = tuple(int(part) for part in number_part.split(".")[1:])
    signed = _signed(firm_id, subject, numbers)
    matched = False
    for key in keys:
        matched |= constant_time_equals(mac(key, signed), signature)
    return (firm_id, numbers) if matched else None


def _signed(firm_id: uuid.UUID, subject: uuid.UUID, numbers: Sequence[int]) -> str:
    return "|".join([str(firm_id), str(subject), *(str(number) for number in numbers)])
