"""The consumer disclosure a recipient accepts before signing electronically.

The U.S. ESIGN Act (15 U.S.C. § 7001(c)) makes an electronic record satisfy a rule that
asks for a written one only after the consumer, before consenting, is told: that they may
have the record on paper, that they may withdraw consent and how (and what that costs),
what the consent covers, how to get a paper copy, and what hardware and software they need
to open and keep the records; UETA (adopted by most states) rests on the parties' agreement
to transact electronically. The text below says each of those things; a recipient's
consent is recorded in the envelope's trail with this ``VERSION``, so the audit
certificate shows which wording they accepted. Changing the wording means a new version."""

VERSION = "2026-12-01"

TEXT = """\
Consent to use electronic records and signatures

The sender, {firm}, asks you to review and sign the documents of this envelope \
electronically. Before you do, please read the following.

1. Paper copies. You may ask {firm} for a paper copy of any document in this envelope, \
free of charge, by contacting them directly. A paper copy does not withdraw your consent.

2. Signing on paper instead. You are not required to sign electronically. If you prefer \
paper, do not continue: decline this envelope or contact {firm}, who will arrange another \
way to sign.

3. Withdrawing consent. You may withdraw your consent at any time before you sign by \
declining the envelope on this page or by telling {firm}. Withdrawing has no fee; it only \
means the documents are not signed electronically.

4. Scope. Your consent covers the documents of this envelope only, not any other \
transaction with {firm}.

5. What you need. A current web browser (with JavaScript enabled) to view and sign the \
documents, an email address to receive the signing link, codes and the signed copy, and \
software that opens PDF files to keep them. The signed documents are emailed to you when \
everyone has signed; keep that email or download the files to retain them.

6. Keep your contact details current. If your email address changes, tell {firm} so that \
the signed copy reaches you.

By consenting, you agree that your electronic signature on these documents is the legal \
equivalent of your handwritten signature, and that you can open and keep the documents as \
described above.
"""


def disclosure_for(firm_name: str) -> str:
    """The disclosure as shown to a recipient of ``firm_name``'s envelope."""
    return TEXT.format(firm=firm_name)
