"""The roles a firm's people hold. Core decides permissions on them (core.permissions,
core.principal) and models.user stores them, so the enum lives here, below both."""

import enum


class Role(enum.StrEnum):
    owner = "owner"
    admin = "admin"
    staff = "staff"
    builder = "builder"
    client = "client"
