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
    AutomationRun,
    AutomationRunStep,
    RunStatus,
    RunTrigger,
    StepStatus,
)
from models.base import Base
from models.client import Client, ClientKind, ClientStatus, Contact
from models.client_import import ClientImport, ClientImportRow, ImportStatus, RowOutcome
from models.credential import Credential
from models.document import (
    Document,
    DocumentBlob,
    DocumentFolder,
    DocumentStatus,
    DocumentVersion,
    TextStatus,
)
from models.document_retention import (
    DocumentDeletion,
    LegalHold,
    RetentionCandidate,
    RetentionPolicy,
    RetentionTrigger,
)
from models.dunning_policy import DunningPolicy
from models.dunning_reminder import DunningReminder
from models.envelope import (
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeEventKind,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeStatus,
    EnvelopeTemplate,
    EsignatureConnection,
    FieldKind,
    PlatformSigningKey,
    ProviderName,
    RecipientRole,
    RecipientStatus,
)
from models.firm import Firm
from models.idempotency import IdempotencyKey
from models.inbound_webhook import InboundWebhook
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
from models.recurring_invoice import RecurringInvoice, RecurringStatus
from models.sso import SamlAssertionSeen, SamlConfig, SamlRequest
from models.stripe_event import StripeEvent, StripeEventStatus
from models.stripe_webhook_secret import StripeWebhookSecret
from models.task import Task, TaskStatus
from models.user import ApiToken, Invitation, LoginSession, User

__all__ = [
    "ApiToken",
    "Approval",
    "ApprovalStatus",
    "ApprovalVote",
    "AuditEvent",
    "AuthThrottle",
    "Automation",
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
    "Document",
    "DocumentBlob",
    "DocumentDeletion",
    "DocumentFolder",
    "DocumentStatus",
    "DocumentVersion",
    "DunningPolicy",
    "DunningReminder",
    "Envelope",
    "EnvelopeDocument",
    "EnvelopeEvent",
    "EnvelopeEventKind",
    "EnvelopeField",
    "EnvelopeRecipient",
    "EnvelopeStatus",
    "EnvelopeTemplate",
    "EsignatureConnection",
    "FieldKind",
    "Firm",
    "FirmSecurityPolicy",
    "IdempotencyKey",
    "ImportStatus",
    "InboundWebhook",
    "Invitation",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "InvoiceStatus",
    "LegalHold",
    "LoginSession",
    "MfaChallenge",
    "OutboxMessage",
    "PasswordResetToken",
    "Payment",
    "PaymentDispute",
    "PaymentKind",
    "PaymentMethod",
    "PlatformSigningKey",
    "ProviderName",
    "RecipientRole",
    "RecipientStatus",
    "RecoveryCode",
    "RecurringInvoice",
    "RecurringStatus",
    "RetentionCandidate",
    "RetentionPolicy",
    "RetentionTrigger",
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
    "TextStatus",
    "TwoFactorCredential",
    "User",
    "VoteDecision",
]
