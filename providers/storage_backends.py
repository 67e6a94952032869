"""The storage provider the settings name, apart from the protocol so that the
implementations import the protocol's module and nothing imports back."""

from core.config import Settings
from providers.storage import Storage
from providers.storage_filesystem import FilesystemStorage


def build_storage(settings: Settings) -> Storage:
    """The provider ``settings.storage_backend`` names. Built once per process (the API's
    ``create_app``, the worker's ``build_activities``): the S3 one keeps a connection pool."""
    if settings.storage_backend == "s3":
        # Imported only when chosen: aioboto3 and botocore add about 50 MiB to a process.
        from providers.storage_s3 import S3Storage

        return S3Storage.from_settings(settings)
    return FilesystemStorage(settings.files_dir)
