"""Export and import of an automation as one JSON or YAML document, so automations can
live in git::

    kind: firmflow/automation
    name: Invoice reminder
    description: null
    definition: {schema_version: 1, trigger: {type: manual}, start: ..., steps: {...}}

YAML is read with ``safe_load`` semantics only (no arbitrary objects), and a duplicate
key is an error in both formats, as it is for the API's JSON bodies.
"""

import enum
import json
import uuid
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.principal import Principal
from models import Automation, AutomationVersion
from services.automations import automations, validation
from services.automations.automations import AutomationFields, Description, Name
from services.automations.validation import InvalidDefinition, Problem

KIND = "firmflow/automation"


class DocumentFormat(enum.StrEnum):
    json = "json"
    yaml = "yaml"


class Source(enum.StrEnum):
    # The newest published version (what runs).
    published = "published"
    # The draft, as it is.
    draft = "draft"


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["firmflow/automation"]
    name: Name
    description: Description | None = None
    definition: dict[str, Any]


async def export(
    session: AsyncSession,
    principal: Principal,
    automation_id: uuid.UUID,
    *,
    source: Source,
) -> dict[str, Any]:
    automation = await automations.get_automation(session, principal, automation_id)
    if source == Source.draft:
        if automation.draft is None:
            raise Conflict("This automation has no draft to export")
        definition = automation.draft
    else:
        if automation.latest_version is None:
            raise Conflict("This automation has no published version; export its draft")
        version = await automations.get_version(
            session, principal, automation.id, automation.latest_version
        )
        definition = version.definition
    return {
        "kind": KIND,
        "name": automation.name,
        "description": automation.description,
        "definition": definition,
    }


def render(document: dict[str, Any], fmt: DocumentFormat) -> str:
    if fmt == DocumentFormat.yaml:
        text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return text
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping with a repeated key (PyYAML keeps the last) and
    aliases: a few nested ``*refs`` expand into billions of nodes once the document is
    walked or turned into JSON, and a definition has no use for them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse(raw: bytes, fmt: DocumentFormat) -> Any:
    limit = validation.MAX_DEFINITION_BYTES
    if len(raw) > limit:
        raise InvalidDefinition([{"pointer": "", "detail": f"the document exceeds {limit} bytes"}])
    if fmt == DocumentFormat.json:
        return validation.parse_json(raw)
    try:
        data = yaml.load(raw, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except (yaml.YAMLError, RecursionError) as exc:
        raise InvalidDefinition([{"pointer": "", "detail": f"not valid YAML: {exc}"}]) from exc
    if validation.too_deep(data):
        raise InvalidDefinition(
            [{"pointer": "", "detail": f"nested more than {validation.MAX_DEPTH} levels deep"}]
        )
    return data


def read_document(data: Any) -> Document:
    """The document, with every problem of its definition under ``/definition``."""
    try:
        document = Document.model_validate(data)
    except ValidationError as exc:
        problems: list[Problem] = [
            {
                "pointer": validation.pointer(*err["loc"]),
                "detail": "unknown member" if err["type"] == "extra_forbidden" else err["msg"],
            }
            for err in exc.errors()
        ]
        raise InvalidDefinition(problems) from exc
    problems = [
        {"pointer": "/definition" + p["pointer"], "detail": p["detail"]}
        for p in validation.problems_of(document.definition)
    ]
    if problems:
        raise InvalidDefinition(problems)
    return document


async def import_document(
    session: AsyncSession,
    principal: Principal,
    *,
    raw: bytes,
    fmt: DocumentFormat,
    publish: bool,
) -> tuple[Automation, AutomationVersion | None]:
    """A new automation whose draft is the document's definition (which must be valid),
    published as version 1 when ``publish`` is set."""
    document = read_document(parse(raw, fmt))
    # Through JSON: YAML may give dates or other non-JSON values a JSONB column refuses.
    definition = json.loads(json.dumps(document.definition, default=str))
    automation = await automations.create_automation(
        session,
        principal,
        fields=AutomationFields(name=document.name, description=document.description),
        draft=definition,
        action="imported",
    )
    version = await automations.publish(session, principal, automation.id) if publish else None
    return automation, version
