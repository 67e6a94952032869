"""SAML single sign-on per firm (see docs/sso.md)."""

from services.sso.config import sso_enforced_for
from services.sso.errors import SSO_FAILED, SsoRefused

__all__ = ["SSO_FAILED", "SsoRefused", "sso_enforced_for"]
