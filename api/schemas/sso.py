"""SAML single sign-on configuration of a firm."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.roles import Role
from models import SamlConfig
from services.sso.saml import ServiceProvider

# Owners are made inside firmflow only: no IdP group grants the owner role. Nor the client
# role: a client-role user belongs to one client (users.client_id), which no IdP group
# names; such users are invited with their client.
AssignableRole = Literal["admin", "staff", "builder"]
AttributeName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
]
GroupName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Real IdP metadata is a few KB; a signed federation aggregate is not what belongs here.
MetadataXml = Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
RoleMapping = Annotated[dict[GroupName, AssignableRole], Field(max_length=100)]


class SamlConfigCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idp_metadata_xml: MetadataXml
    enabled: bool = True
    # Null takes the email from the assertion's NameID.
    email_attribute: AttributeName | None = "email"
    name_attribute: AttributeName | None = "name"
    groups_attribute: AttributeName | None = None
    role_mapping: RoleMapping = Field(default_factory=dict)
    # Role of a just-in-time user none of whose groups is mapped; null refuses them.
    default_role: AssignableRole | None = None
    jit_provisioning: bool = False
    enforce_sso: bool = False
    allow_idp_initiated: bool = False


class SamlConfigUpdate(BaseModel):
    """Omitted fields stay as they are; null clears an attribute name or the default role."""

    model_config = ConfigDict(extra="forbid")

    idp_metadata_xml: MetadataXml | None = None
    enabled: bool | None = None
    email_attribute: AttributeName | None = None
    name_attribute: AttributeName | None = None
    groups_attribute: AttributeName | None = None
    role_mapping: RoleMapping | None = None
    default_role: AssignableRole | None = None
    jit_provisioning: bool | None = None
    enforce_sso: bool | None = None
    allow_idp_initiated: bool | None = None

    def changes(self) -> dict[str, object]:
        nullable = {"email_attribute", "name_attribute", "groups_attribute", "default_role"}
        out: dict[str, object] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is None and name not in nullable:
                continue
            out[name] = Role(value) if name == "default_role" and value else value
        return out


class SamlConfigRead(BaseModel):
    id: uuid.UUID
    enabled: bool
    idp_entity_id: str
    email_attribute: str | None
    name_attribute: str | None
    groups_attribute: str | None
    role_mapping: dict[str, str]
    default_role: Role | None
    jit_provisioning: bool
    enforce_sso: bool
    allow_idp_initiated: bool
    # What the IdP administrator enters on their side.
    sp_entity_id: str
    acs_url: str
    sp_metadata_url: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, config: SamlConfig, *, public_url: str, firm_slug: str) -> Self:
        sp = ServiceProvider.for_firm(
            public_url,
            firm_slug,
            idp_entity_id=config.idp_entity_id,
            idp_metadata_xml=config.idp_metadata_xml,
        )
        return cls(
            id=config.id,
            enabled=config.enabled,
            idp_entity_id=config.idp_entity_id,
            email_attribute=config.email_attribute,
            name_attribute=config.name_attribute,
            groups_attribute=config.groups_attribute,
            role_mapping=config.role_mapping,
            default_role=config.default_role,
            jit_provisioning=config.jit_provisioning,
            enforce_sso=config.enforce_sso,
            allow_idp_initiated=config.allow_idp_initiated,
            sp_entity_id=sp.entity_id,
            acs_url=sp.acs_url,
            sp_metadata_url=sp.entity_id,
            created_at=config.created_at,
            updated_at=config.updated_at,
        )


class SamlConfigList(BaseModel):
    """A firm has at most one configuration."""

    items: list[SamlConfigRead]
