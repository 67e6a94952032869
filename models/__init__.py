"""All models, imported here so Alembic and the mapper registry see every table."""

from models.approval import Approval, ApprovalStatus, ApprovalVote, VoteDecision
from models.audit import AuditEvent
from models.auth_security import (
    AuthThrottle,
    FirmSecurityPolicy,
    MfaChallenge,
    PasswordResetToken,
    RecoveryCode,
    TwoFactorCredential,
)
from models.automation import Automation, AutomationStatus, AutomationVersion
from models.automation_run import (
    AutomationHook,
    AutomationRun,
    AutomationRunStep,
    RunStatus,
    RunTrigger,
    StepStatus,
)
from models.base import Base
from models.billing_ops import (
    DunningPolicy,
    DunningReminder,
    RecurringInvoice,
    RecurringStatus,
    StripeEvent,
    StripeEventStatus,
    StripeWebhookSecret,
)
from models.client import Client, ClientKind, ClientStatus, Contact
from models.client_import import ClientImport, ClientImportRow, ImportStatus, RowOutcome
from models.credential import Credential
from models.firm import Firm
from models.idempotency import IdempotencyKey
from models.invoice import (
    BillingSettings,
    DiscountKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    TaxRate,
)
from models.outbox import OutboxMessage
from models.payment import (
    ClientCredit,
    CreditReason,
    DisputeStatus,
    Payment,
    PaymentDispute,
    PaymentKind,
    PaymentMethod,
    SavedPaymentMethod,
)
from models.sso import SamlAssertionSeen, SamlConfig, SamlRequest
from models.task import Task, TaskStatus
from models.user import ApiToken, Invitation, LoginSession, Role, User

__all__ = [
    "ApiToken",
    "Approval",
    "ApprovalStatus",
    "ApprovalVote",
    "AuditEvent",
    "AuthThrottle",
    "Automation",
    "AutomationHook",
    "AutomationRun",
    "AutomationRunStep",
    "AutomationStatus",
    "AutomationVersion",
    "Base",
    "BillingSettings",
    "Client",
    "ClientCredit",
    "ClientImport",
    "ClientImportRow",
    "ClientKind",
    "ClientStatus",
    "Contact",
    "Credential",
    "CreditReason",
    "DiscountKind",
    "DisputeStatus",
    "DunningPolicy",
    "DunningReminder",
    "Firm",
    "FirmSecurityPolicy",
    "IdempotencyKey",
    "ImportStatus",
    "Invitation",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "InvoiceStatus",
    "LoginSession",
    "MfaChallenge",
    "OutboxMessage",
    "PasswordResetToken",
    "Payment",
    "PaymentDispute",
    "PaymentKind",
    "PaymentMethod",
    "RecoveryCode",
    "RecurringInvoice",
    "RecurringStatus",
    "Role",
    "RowOutcome",
    "RunStatus",
    "RunTrigger",
    "SamlAssertionSeen",
    "SamlConfig",
    "SamlRequest",
    "SavedPaymentMethod",
    "StepStatus",
    "StripeEvent",
    "StripeEventStatus",
    "StripeWebhookSecret",
    "Task",
    "TaskStatus",
    "TaxRate",
    "TwoFactorCredential",
    "User",
    "VoteDecision",
]
