"""The one refusal of a SAML login. Its ``reason`` is for the server log only: the browser
always gets the same generic problem, so a probe learns nothing about why it failed."""

from core.errors import Unauthorized

SSO_FAILED = "Single sign-on did not succeed; start again from your firm's sign-in page"


class SsoRefused(Unauthorized):
    def __init__(self, reason: str) -> None:
        super().__init__(SSO_FAILED)
        self.reason = reason
