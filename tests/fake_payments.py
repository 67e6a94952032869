"""The in-memory payment provider the billing tests use instead of Stripe's network. It
keeps Stripe's idempotency rule (a repeated key returns the first answer) and records
every call, so tests can count what would have reached Stripe."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from providers.payments import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CheckoutLink,
    CheckoutRequest,
    PaymentProvider,
)


@dataclass
class FakePaymentProvider:
    """``decline`` decides, per charge request, whether the card is declined."""

    decline: Callable[[ChargeRequest], bool] = lambda request: False
    checkouts: list[CheckoutRequest] = field(default_factory=list)
    charges: list[ChargeRequest] = field(default_factory=list)
    secret_keys: list[str] = field(default_factory=list)
    _sessions: dict[str, CheckoutLink] = field(default_factory=dict)
    _results: dict[str, ChargeResult] = field(default_factory=dict)

    def for_key(self, secret_key: str) -> PaymentProvider:
        """The factory the services and activities take: every firm gets this fake."""
        self.secret_keys.append(secret_key)
        return self

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutLink:
        self.checkouts.append(request)
        if request.idempotency_key not in self._sessions:
            session_id = f"cs_test_{uuid.uuid4().hex[:16]}"
            self._sessions[request.idempotency_key] = CheckoutLink(
                session_id=session_id, url=f"https://checkout.stripe.com/c/pay/{session_id}"
            )
        return self._sessions[request.idempotency_key]

    async def charge_saved_method(self, request: ChargeRequest) -> ChargeResult:
        self.charges.append(request)
        if request.idempotency_key not in self._results:
            intent = f"pi_test_{uuid.uuid4().hex[:16]}"
            if self.decline(request):
                result = ChargeResult(
                    status=ChargeStatus.failed, payment_intent_id=intent, decline_code="declined"
                )
            else:
                result = ChargeResult(
                    status=ChargeStatus.succeeded,
                    payment_intent_id=intent,
                    amount_received=request.amount,
                )
            self._results[request.idempotency_key] = result
        return self._results[request.idempotency_key]

    @property
    def sessions_created(self) -> int:
        return len(self._sessions)

    @property
    def charges_made(self) -> int:
        """Charges that really happened (a repeated idempotency key replays the first)."""
        return len(self._results)
