"""The firm-scoped repositories of e-signature, in a leaf module so that envelopes,
templates, signing, sealing, providers and the process share them without importing one
another."""

from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeTemplate,
    EsignatureConnection,
)
from services.repository import FirmScoped

ENVELOPES = FirmScoped(Envelope, "envelope")
ENVELOPE_DOCUMENTS = FirmScoped(EnvelopeDocument, "envelope document")
RECIPIENTS = FirmScoped(EnvelopeRecipient, "recipient")
FIELDS = FirmScoped(EnvelopeField, "envelope field")
EVENTS = FirmScoped(EnvelopeEvent, "envelope event")
TEMPLATES = FirmScoped(EnvelopeTemplate, "envelope template")
CONNECTIONS = FirmScoped(EsignatureConnection, "e-signature connection")
