"""Pay links: the address an invoice's emails give its client,
``<public_url>/pay/<invoice id>?t=<token>``, which opens the invoice and lets the client pay
it without an account.

The token is ``<firm>.<expiry>.<mac>``: the firm's id (16 bytes, URL-safe base64), the
expiry (Unix seconds) and HMAC-SHA256 over ``firm id|invoice id|expiry``. It carries no
secret: the firm id is not one (Stripe's webhook URL names it too) and says nothing about
any other invoice; it only tells the public API which firm's rows to look in. What makes
the link unguessable is the MAC (256 bits), keyed with a key HKDF derives from the server's
encryption keys under its own label, so no other signed value (a device cookie) can pass
for a pay token. The first key signs, every configured key verifies: links keep working
through a key rotation until the old key is dropped. Comparison is constant-time.

Links last ``PAY_LINK_TTL`` (60 days): long enough for a client to pay a 30-day invoice
late, and every dunning reminder carries a fresh link, so an overdue invoice's latest email
always works. A firm gives a client a new link from the invoice (``POST
/v1/invoices/{id}/pay-link``).

A server without an encryption key issues no token: it could not hold a Stripe key either
(the cipher refuses), so nothing could be paid online. Its emails carry the bare page
address, which the page answers as an invalid link (ask the firm); nothing unsigned is
ever accepted. Tokens are never logged: the API reads them from a header, and the access
log records paths without query strings.
"""

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.config import Settings
from core.crypto import configured_keys
from core.security import constant_time_equals, derive_key, mac

PAY_LINK_TTL = timedelta(days=60)
_PURPOSE = "firmflow invoice pay link v1"
_TOKEN = re.compile(r"([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class PayLink:
    url: str
    # None: the server has no key, so the link carries no token and opens nothing.
    expires_at: datetime | None


@dataclass(frozen=True)
class PayLinks:
    keys: tuple[bytes, ...]
    public_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "PayLinks":
        keys = tuple(derive_key(secret, _PURPOSE) for secret in configured_keys(settings))
        return cls(keys=keys, public_url=settings.public_url.rstrip("/"))

    def page(self, invoice_id: uuid.UUID) -> str:
        return f"{self.public_url}/pay/{invoice_id}"

    def issue(self, firm_id: uuid.UUID, invoice_id: uuid.UUID, *, now: datetime) -> PayLink:
        """The invoice's pay link, valid for ``PAY_LINK_TTL`` from ``now``."""
        if not self.keys:
            return PayLink(url=self.page(invoice_id), expires_at=None)
        expires_at = (now + PAY_LINK_TTL).replace(microsecond=0)
        expiry = int(expires_at.timestamp())
        firm = base64.urlsafe_b64encode(firm_id.bytes).rstrip(b"=").decode()
        signature = mac(self.keys[0], _signed(firm_id, invoice_id, expiry))
        return PayLink(
            url=f"{self.page(invoice_id)}?t={firm}.{expiry}.{signature}", expires_at=expires_at
        )

    def firm_of(
        self, token: str | None, invoice_id: uuid.UUID, *, now: datetime
    ) -> uuid.UUID | None:
        """The firm whose invoice ``invoice_id`` the token opens, if this server signed it
        for that invoice and it has not expired; None for anything else, whatever the
        reason (the caller answers every refusal alike)."""
        found = _TOKEN.fullmatch(token or "")
        if found is None or not self.keys:
            return None
        firm_part, expiry_part, signature = found.groups()
        try:
            firm_id = uuid.UUID(bytes=base64.urlsafe_b64decode(firm_part + "=="))
        except (binascii.Error, ValueError):
            return None
        expiry = int(expiry_part)
        signed = _signed(firm_id, invoice_id, expiry)
        # Every key is tried: the time taken does not tell which one matched.
        matched = False
        for key in self.keys:
            matched |= constant_time_equals(mac(key, signed), signature)
        if not matched or expiry <= now.timestamp():
            return None
        return firm_id


def _signed(firm_id: uuid.UUID, invoice_id: uuid.UUID, expiry: int) -> str:
    return f"{firm_id}|{invoice_id}|{expiry}"
