"""The one permission model: what each role may do, and which routes need no sign-in.

Every route declares the permission it needs (``api.deps.Requires``) or is listed in
``PUBLIC_ROUTES``; a test enumerates the app's routes and fails on any that does neither.
Finer rules that depend on the record rather than the role (an admin cannot change an
owner, a client-role user sees only their own client) live in the services, which read
this table too rather than keeping role lists of their own. docs/permissions.md shows the
table for people.
"""

import enum

from core.errors import Forbidden
from core.roles import Role


class Permission(enum.StrEnum):
    # Your own profile, logout, two-factor, your login sessions and your API tokens.
    account = "account"
    # Read clients and their contacts (only one's own client without clients_all).
    clients_read = "clients:read"
    # See every client of the firm rather than only the one a client-role user belongs to.
    clients_all = "clients:all"
    # Create, change and archive clients; add, change and delete their contacts.
    clients_write = "clients:write"
    # Import clients from CSV and follow the imports.
    clients_import = "clients:import"
    # Look colleagues up.
    users_read = "users:read"
    # Invite users, change their roles, deactivate and reactivate them.
    users_manage = "users:manage"
    # See and revoke every API token of the firm, not only one's own.
    api_tokens_all = "api_tokens:all"
    # Read the firm's audit trail.
    audit_read = "audit:read"
    # Configure the firm's single sign-on.
    sso_manage = "sso:manage"
    # Read automations, their versions and their runs.
    automations_read = "automations:read"
    # Define, publish, activate, pause and archive automations.
    automations_write = "automations:write"
    # Start automations by hand, cancel runs, retry and resume them.
    automations_run = "automations:run"
    # Vote on the approvals automation runs wait for (the approval step still decides who
    # among these roles is an approver).
    approvals_decide = "approvals:decide"
    # Store and delete the firm's credentials that automation steps use.
    credentials_manage = "credentials:manage"
    # Read staff to-dos.
    tasks_read = "tasks:read"
    # Create, change, complete and delete staff to-dos.
    tasks_write = "tasks:write"
    # Change the firm's settings (the outbound HTTP allow-list of automation steps).
    firm_manage = "firm:manage"
    # Read invoices, payments, credit, recurring invoices and receivables reports.
    billing_read = "billing:read"
    # Draft, finalize, send and void invoices; record payments and refunds; issue credit
    # notes; manage recurring invoices; pause and resume dunning.
    billing_write = "billing:write"
    # The firm's billing settings: tax rates, numbering, templates, the dunning policy and
    # the Stripe keys and webhook signing secrets.
    billing_manage = "billing:manage"
    # Read documents, their versions and folders, search them and download their files.
    documents_read = "documents:read"
    # Upload documents and new versions, change their details, file and tag them, delete
    # and restore them.
    documents_write = "documents:write"
    # Submit a document version for review (and withdraw it).
    documents_submit = "documents:submit"
    # Review documents (a document's reviewers still decide who among these votes).
    documents_review = "documents:review"
    # Publish an approved document.
    documents_publish = "documents:publish"
    # Retention policies, legal holds, the sweep's report and the firm's upload settings.
    documents_manage = "documents:manage"
    # See envelopes and templates, their audit trails and signed copies.
    esignature_read = "esignature:read"
    # Prepare, send, void, correct, re-send and remind envelopes; make them from templates.
    esignature_send = "esignature:send"
    # Envelope templates, the firm's e-signature settings, provider connections and its
    # sealing certificate.
    esignature_manage = "esignature:manage"


_MEMBER = frozenset(
    {
        Permission.account,
        Permission.clients_read,
        Permission.clients_all,
        Permission.users_read,
        Permission.automations_read,
        Permission.tasks_read,
        Permission.documents_read,
        Permission.esignature_read,
    }
)
_STAFF = _MEMBER | {
    Permission.clients_write,
    Permission.clients_import,
    Permission.tasks_write,
    Permission.automations_run,
    Permission.approvals_decide,
    Permission.billing_read,
    Permission.billing_write,
    Permission.documents_write,
    Permission.documents_submit,
    Permission.documents_review,
    Permission.esignature_send,
}
_BUILDER = _MEMBER | {
    Permission.automations_write,
    Permission.automations_run,
    Permission.approvals_decide,
    Permission.credentials_manage,
}
_ADMIN = (
    _STAFF
    | _BUILDER
    | {
        Permission.users_manage,
        Permission.api_tokens_all,
        Permission.audit_read,
        Permission.sso_manage,
        Permission.firm_manage,
        Permission.billing_manage,
        Permission.documents_publish,
        Permission.documents_manage,
        Permission.esignature_manage,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Owners may do everything; what only an owner may do to other owners (grant or change
    # the owner role) is a rule about the target user, kept in services.users.
    Role.owner: frozenset(Permission),
    Role.admin: _ADMIN,
    Role.staff: _STAFF,
    # Builders design automations; for the firm's data they read what staff read.
    Role.builder: _BUILDER,
    # People of a client firm: their own account and their own client's records.
    Role.client: frozenset({Permission.account, Permission.clients_read}),
}

# Routes anyone may call, as (method, path template). Kept short on purpose: a route added
# here is reachable without a credential, so each entry is reviewed.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        ("GET", "/openapi.json"),
        ("POST", "/v1/signup"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/accept-invitation"),
        ("POST", "/v1/auth/login/mfa"),
        ("POST", "/v1/auth/login/enrollment"),
        ("POST", "/v1/auth/login/enrollment/confirm"),
        ("POST", "/v1/auth/password-reset"),
        ("POST", "/v1/auth/password-reset/confirm"),
        # SAML: the identity provider and the browser reach these before anyone is signed in.
        ("GET", "/v1/sso/{firm_slug}/metadata"),
        ("GET", "/v1/sso/{firm_slug}/login"),
        ("POST", "/v1/sso/{firm_slug}/acs"),
        # Inbound webhooks: the secret token in the URL (and, when set, the Standard Webhooks
        # signature) is the credential; /v1/hooks/ is their first, deprecated path.
        ("POST", "/v1/inbound-webhooks/{token}"),
        ("POST", "/v1/hooks/{token}"),
        # Stripe's deliveries: a Stripe-Signature made with the firm's secret is the credential.
        ("POST", "/v1/webhooks/stripe/{firm_id}"),
        # DocuSign Connect and Dropbox Sign: a signature made with the firm's connection's
        # secret is the credential.
        ("POST", "/v1/esignature/webhooks/docusign/{firm_id}"),
        ("POST", "/v1/esignature/webhooks/dropbox-sign/{firm_id}"),
        # A client's pay link: its signed token (X-Pay-Token) authorises that one invoice.
        ("GET", "/v1/public/invoices/{invoice_id}"),
        ("POST", "/v1/public/invoices/{invoice_id}/checkout"),
        # A download link of a stored file: its signed, short-lived token is the credential.
        ("GET", "/v1/files/{token}"),
        # A recipient's signing link: its signed token (X-Signing-Token) authorises their part
        # of one envelope.
        ("GET", "/v1/signing/{recipient_id}"),
        ("GET", "/v1/signing/{recipient_id}/documents/{envelope_document_id}/pages/{page}"),
        ("POST", "/v1/signing/{recipient_id}/consent"),
        ("POST", "/v1/signing/{recipient_id}/code"),
        ("POST", "/v1/signing/{recipient_id}/code/verify"),
        ("POST", "/v1/signing/{recipient_id}/sign"),
        ("POST", "/v1/signing/{recipient_id}/decline"),
        # Anyone holding a PDF may ask whether it is an intact firmflow-sealed document.
        ("POST", "/v1/signatures/verify"),
    }
)


class PermissionDenied(Forbidden):
    title = "Permission denied"
    slug = "permission-denied"


def allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def roles_with(permission: Permission) -> frozenset[Role]:
    return frozenset(role for role, granted in ROLE_PERMISSIONS.items() if permission in granted)


def require(role: Role, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless ``role`` has ``permission``."""
    if not allows(role, permission):
        raise PermissionDenied(
            f"Your role ({role.value}) lacks the permission {permission.value} this action needs"
        )
