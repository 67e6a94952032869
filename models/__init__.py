"""All models, imported here so Alembic and the mapper registry see every table."""

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
from models.client import Client, ClientKind, ClientStatus, Contact
from models.client_import import ClientImport, ClientImportRow, ImportStatus, RowOutcome
from models.credential import Credential
from models.firm import Firm
from models.idempotency import IdempotencyKey
from models.outbox import OutboxMessage
from models.sso import SamlAssertionSeen, SamlConfig, SamlRequest
from models.task import Task, TaskStatus
from models.user import ApiToken, Invitation, LoginSession, Role, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuthThrottle",
    "Automation",
    "AutomationHook",
    "AutomationRun",
    "AutomationRunStep",
    "AutomationStatus",
    "AutomationVersion",
    "Base",
    "Client",
    "ClientImport",
    "ClientImportRow",
    "ClientKind",
    "ClientStatus",
    "Contact",
    "Credential",
    "Firm",
    "FirmSecurityPolicy",
    "IdempotencyKey",
    "ImportStatus",
    "Invitation",
    "LoginSession",
    "MfaChallenge",
    "OutboxMessage",
    "PasswordResetToken",
    "RecoveryCode",
    "Role",
    "RowOutcome",
    "RunStatus",
    "RunTrigger",
    "SamlAssertionSeen",
    "SamlConfig",
    "SamlRequest",
    "StepStatus",
    "Task",
    "TaskStatus",
    "TwoFactorCredential",
    "User",
]
