"""The firm-scoped repositories of documents, in a leaf module so that documents, folders,
blobs, review, retention and search share them without importing one another."""

from models import (
    Document,
    DocumentBlob,
    DocumentFolder,
    DocumentVersion,
    LegalHold,
    RetentionPolicy,
)
from services.repository import FirmScoped

DOCUMENTS = FirmScoped(Document, "document")
VERSIONS = FirmScoped(DocumentVersion, "document version")
BLOBS = FirmScoped(DocumentBlob, "document blob")
FOLDERS = FirmScoped(DocumentFolder, "document folder")
POLICIES = FirmScoped(RetentionPolicy, "retention policy")
HOLDS = FirmScoped(LegalHold, "legal hold")
