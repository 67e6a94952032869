from sqlalchemy import String, text
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
