"""Pay links: the address an invoice's emails give its client,
``<public_url>/pay/<invoice id>?t=<token>``, which opens the invoice and lets the client pay
it without an account.

The token is ``<firm>.<expiry>.<mac>`` (core/link_tokens.py): the firm's id, the expiry
(Unix seconds) and HMAC-SHA256 over ``firm id|invoice id|expiry``, keyed under the pay
links' own HKDF label. It carries no secret: the firm id is not one (Stripe's webhook URL
names it too) and says nothing about any other invoice.

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

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.config import Settings
from core.link_tokens import link_keys, seal, unseal

PAY_LINK_TTL = timedelta(days=60)
_PURPOSE = "firmflow invoice pay link v1"


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
        return cls(keys=link_keys(settings, _PURPOSE), public_url=settings.public_url.rstrip("/"))

    def page(self, invoice_id: uuid.UUID) -> str:
        return f"{self.public_url}/pay/{invoice_id}"

    def issue(self, firm_id: uuid.UUID, invoice_id: uuid.UUID, *, now: datetime) -> PayLink:
        """The invoice's pay link, valid for ``PAY_LINK_TTL`` from ``now``."""
        if not self.keys:
            return PayLink(url=self.page(invoice_id), expires_at=None)
        expires_at = (now + PAY_LINK_TTL).replace(microsecond=0)
        token = seal(self.keys, firm_id, invoice_id, [int(expires_at.timestamp())])
        return PayLink(url=f"{self.page(invoice_id)}?t={token}", expires_at=expires_at)

    def firm_of(
        self, token: str | None, invoice_id: uuid.UUID, *, now: datetime
    ) -> uuid.UUID | None:
        """The firm whose invoice ``invoice_id`` the token opens, if this server signed it
        for that invoice and it has not expired; None for anything else, whatever the
        reason (the caller answers every refusal alike)."""
        opened = unseal(self.keys, token, invoice_id, count=1)
        if opened is None:
            return None
        firm_id, (expiry,) = opened
        return firm_id if expiry > now.timestamp() else None
