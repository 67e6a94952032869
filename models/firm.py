from datetime import time

from sqlalchemy import BigInteger, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin


class Firm(IdMixin, TimestampMixin, Base):
    __tablename__ = "firms"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Hosts, addresses and CIDR ranges the firm's automations may reach although they are
    # loopback, private or link-local (providers.http refuses those otherwise).
    http_allowlist: Mapped[list[str]] = mapped_column(
        ARRAY(String(253)), default=list, server_default=text("'{}'")
    )
    # Documents: what the firm may store in all (bytes of distinct blobs), the largest one
    # upload, and the detected types an upload may have (services.documents.sniffing).
    documents_quota_bytes: Mapped[int] = mapped_column(
        BigInteger, default=50 * 1024**3, server_default=text("53687091200")
    )
    upload_limit_bytes: Mapped[int] = mapped_column(
        BigInteger, default=1024**3, server_default=text("1073741824")
    )
    allowed_upload_types: Mapped[list[str]] = mapped_column(
        ARRAY(String(127)), default=list, server_default=text("'{}'")
    )
    # The Postgres text-search configuration documents are indexed with ('english', …).
    search_config: Mapped[str] = mapped_column(
        String(64), default="english", server_default=text("'english'")
    )
    # Business hours in the firm's time zone: ISO weekdays (1 = Monday) and the day's span.
    # Review reminders and escalations count business days and land inside these hours.
    business_days: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger()), default=lambda: [1, 2, 3, 4, 5], server_default=text("'{1,2,3,4,5}'")
    )
    business_start: Mapped[time] = mapped_column(default=time(9, 0), server_default=text("'09:00'"))
    business_end: Mapped[time] = mapped_column(default=time(17, 0), server_default=text("'17:00'"))
    # E-signature: put every completed envelope's signed documents under a legal hold.
    esignature_legal_hold: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # The firm's own sealing certificate (PEM) and its key (encrypted with the server's
    # keys); without one, the platform's seals the firm's envelopes.
    signing_certificate_pem: Mapped[str | None] = mapped_column(Text)
    signing_key_encrypted: Mapped[str | None] = mapped_column(Text)
