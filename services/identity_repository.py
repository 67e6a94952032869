"""The firm-scoped repositories of identity: users and invitations, the credentials that act
as a user (login sessions, API tokens), two-factor, the firm's security policy and password
resets. A leaf module, because the services over them import one another (two_factor signs
in through auth and tokens, users issues through tokens, auth asks about two-factor), so no
one of them can hold a repository all the others reach."""

from models import (
    ApiToken,
    FirmSecurityPolicy,
    Invitation,
    LoginSession,
    PasswordResetToken,
    RecoveryCode,
    TwoFactorCredential,
    User,
)
from services.repository import FirmScoped

USERS = FirmScoped(User, "user")
INVITATIONS = FirmScoped(Invitation, "invitation")
LOGIN_SESSIONS = FirmScoped(LoginSession, "login session")
API_TOKENS = FirmScoped(
    ApiToken, "API token", not_found="No API token with this id is visible to you"
)
TOTP_CREDENTIALS = FirmScoped(TwoFactorCredential, "two-factor credential")
RECOVERY_CODES = FirmScoped(RecoveryCode, "recovery code")
POLICIES = FirmScoped(FirmSecurityPolicy, "security policy")
RESET_TOKENS = FirmScoped(PasswordResetToken, "password reset token")

# The credentials a user signs requests with.
UserCredentials = FirmScoped[LoginSession] | FirmScoped[ApiToken]
