import { Alert, Paper, Text, Title } from "@mantine/core";

import type { PlacedField } from "./builderModel";
import { FieldBuilder } from "./FieldBuilder";
import { templatePageUrl } from "./queries";
import { keptFields, roleParties, templateBuilderDocuments } from "./templateFields";
import type { RoleDraft } from "./templates";
import type { components } from "@/api/schema";

type MeasuredDocument = components["schemas"]["TemplateDocumentRead"];

interface Props {
  templateId: string;
  /** The documents as the template was last saved with them, measured by the server. */
  measured: MeasuredDocument[];
  /** The ids of the documents chosen in the form now. */
  chosen: string[];
  roles: RoleDraft[];
  fields: PlacedField[];
  onChange: (fields: PlacedField[]) => void;
  readOnly: boolean;
}

/** Each role's fields placed on the template's documents; saved with the template. */
export function TemplateFieldsSection({ templateId, measured, chosen, roles, fields, onChange, readOnly }: Props) {
  const parties = roleParties(roles);
  const documents = templateBuilderDocuments(measured, chosen, (documentId, page, width) =>
    templatePageUrl(templateId, documentId, page, width),
  );
  const kept = keptFields(fields, parties, documents);
  const set = new Set(kept);
  const dropped = fields.filter((field) => !set.has(field));
  const unreadable = measured.filter((document) => document.problem);

  return (
    <Paper withBorder p="sm" component="section" aria-labelledby="template-fields">
      <Title order={2} size="h4" id="template-fields" mb={4}>
        Fields
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Place each role&apos;s fields on the documents; they are saved with the template and copied to every envelope
        made from it. A role or document added since the last save can have fields once the template is saved.
      </Text>
      {unreadable.map((document) => (
        <Alert key={document.document_id} color="red" mb="sm" title={document.title ?? "A document"}>
          Its pages cannot be shown: {document.problem}. Take it out of the template or replace it.
        </Alert>
      ))}
      {dropped.length > 0 && (
        <Alert color="yellow" mb="sm" title="Some fields will be dropped">
          {dropped.length === 1 ? "1 field belongs" : `${dropped.length} fields belong`} to a role or document no longer
          in the template (or a page it no longer has), and will not be saved.
        </Alert>
      )}
      <FieldBuilder
        documents={documents}
        parties={parties}
        fields={kept}
        // The builder edits what it shows; fields it does not show are kept until the save drops them.
        onChange={(next) => onChange([...next, ...dropped])}
        partyNoun="Roles"
        readOnly={readOnly}
      />
    </Paper>
  );
}
