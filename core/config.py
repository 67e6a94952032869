"""Settings, read from the environment (prefix ``FIRMFLOW_``) and an optional ``.env`` file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRMFLOW_", env_file=".env", extra="ignore")

    # Runtime connection: a role that owns nothing and is subject to row-level security.
    database_url: str | None = None
    # Migrations run as the owner of the schema.
    migration_database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"

    data_dir: Path = Path(".data")
    signup_enabled: bool = True
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    db_pool_size: int = Field(default=10, ge=1)
    log_level: str = "INFO"
    # Marks the process as running against embedded services (set by the dev launcher).
    embedded: bool = False
    demo_owner_password: SecretStr | None = None

    import_max_rows: int = 50_000
    import_max_bytes: int = 20 * 1024 * 1024
    # Rows per import batch; progress moves at least every 100 rows (services.client_imports).
    import_batch_size: int = Field(default=100, ge=1, le=100)
    # The largest inbound webhook body (POST /v1/inbound-webhooks/{token}); larger ones: 413.
    webhook_max_bytes: int = Field(default=256 * 1024, ge=1024)

    # Where browsers and identity providers reach the API (SAML ACS URL, SP entity id,
    # the Origin a cookie-authenticated unsafe request must come from).
    public_url: str = "http://127.0.0.1:8000"
    # Browser session cookies carry Secure everywhere but plain-HTTP local development.
    cookie_secure: bool = True
    # The built web app the API serves at /; unset: web/dist in the source tree.
    web_dist: Path | None = None
    # The Stripe API the payment adapter calls; tests point it at a loopback server.
    stripe_api_base: str = "https://api.stripe.com"
    # Encrypts secrets the platform must read back (TOTP seeds, later credentials):
    # a Fernet key (urlsafe base64 of 32 bytes). Several, comma-separated, during rotation:
    # the first encrypts, all decrypt.
    encryption_keys: SecretStr | None = None

    # Outbound email: "file" writes .eml files under data_dir/mail (development default),
    # "smtp" sends through the server below.
    email_backend: str = "file"
    mail_from: str = "firmflow <no-reply@firmflow.localhost>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    # Where document bytes live (providers.storage): "filesystem" keeps them under
    # storage_dir (default data_dir/files), "s3" in the bucket below on any S3-compatible
    # service (AWS S3, MinIO, Ceph, R2; s3_endpoint_url for those that are not AWS).
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    storage_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # "path" (bucket in the path: MinIO, Ceph, moto) or "virtual" (bucket in the host name).
    s3_addressing_style: Literal["path", "virtual", "auto"] = "auto"
    # How long a download link works (the S3 presigned URL and firmflow's signed one).
    file_link_seconds: int = Field(default=300, ge=10, le=7 * 24 * 3600)

    # The platform's PDF sealing certificate: a PKCS#12 file (.p12/.pfx) with the key and
    # its passphrase. Unset: a self-signed one is generated on first start
    # (docs/esignature/seal.md).
    seal_pkcs12_path: Path | None = None
    seal_pkcs12_passphrase: SecretStr | None = None

    @property
    def files_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "files"

    @property
    def runtime_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError(
                "FIRMFLOW_DATABASE_URL is not set; run through `make dev` or set it explicitly"
            )
        return self.database_url

    @property
    def owner_url(self) -> str:
        return self.migration_database_url or self.runtime_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
