"""Where the processes listen; separate from core.config because only launching needs it."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LaunchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRMFLOW_", env_file=".env", extra="ignore")

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1)
    # Proxies whose X-Forwarded-* headers uvicorn believes (comma-separated IPs, or "*").
    forwarded_allow_ips: str = "127.0.0.1"
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    startup_timeout_seconds: float = Field(default=90.0, gt=0)
