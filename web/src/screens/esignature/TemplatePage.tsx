import { Alert, Anchor, Button, Center, Group, Loader, NumberInput, Paper, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { DocumentPicker, type PickedDocument } from "./DocumentPicker";
import { keys } from "./queries";
import type { PlacedField } from "./builderModel";
import { RolesEditor } from "./RolesEditor";
import { TemplateFieldsSection } from "./TemplateFieldsSection";
import { keptFields, placedTemplateFields, roleParties, templateBuilderDocuments, templateFieldSpecs } from "./templateFields";
import { withKeys, type RoleDraft } from "./templates";
import { UseTemplate } from "./UseTemplate";
import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

type Template = components["schemas"]["TemplateRead"];

const route = getRouteApi("/app/envelope-templates/$templateId");
const NEW = "new";

export function TemplatePage() {
  const { templateId } = route.useParams();
  const template = useQuery({
    queryKey: keys.template(templateId),
    queryFn: async () =>
      data(await api.GET("/v1/envelope-templates/{template_id}", { params: { path: { template_id: templateId } } })),
    enabled: templateId !== NEW,
  });

  if (templateId === NEW) return <TemplateForm />;
  if (template.isPending) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading the template" />
      </Center>
    );
  }
  if (template.isError) {
    return (
      <>
        <PageHeader title="Template" />
        <ProblemAlert error={template.error} />
      </>
    );
  }
  const picked = template.data.documents.map((document) => ({
    id: document.document_id,
    title: document.title ?? "A document no longer in the library",
  }));
  return (
    <Stack gap="xl">
      <TemplateForm template={template.data} documents={picked} />
      <UseTemplate template={template.data} />
    </Stack>
  );
}

interface Values extends Record<string, unknown> {
  name: string;
  title: string;
  message: string;
  documents: PickedDocument[];
  roles: RoleDraft[];
  expiry_days: number;
  reminder_first_days: number;
  reminder_every_days: number;
  reminder_max: number;
}

function roleDrafts(roles: Template["roles"]): RoleDraft[] {
  return roles.map((role) => ({
    ...role,
    require_code: role.require_code ?? false,
    role: role.role ?? "signer",
    routing_order: role.routing_order ?? 1,
  }));
}

function TemplateForm({ template, documents = [] }: { template?: Template; documents?: PickedDocument[] }) {
  const { user } = useMe();
  const manager = user.role === "owner" || user.role === "admin";
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // Kept out of the form's values so a field's error shows in the alert, not on an input that is not there.
  const [fields, setFields] = useState<PlacedField[]>(() => placedTemplateFields(template?.fields ?? []));
  const { form, error, unplaced, submit, submitting } = useApiForm<Values>({
    initialValues: {
      name: template?.name ?? "",
      title: template?.title ?? "",
      message: template?.message ?? "",
      documents,
      roles: template ? roleDrafts(template.roles) : [
        { key: "client", name: "Client", role: "signer", routing_order: 1, require_code: false },
      ],
      expiry_days: template?.expiry_days ?? 30,
      reminder_first_days: template?.reminder_first_days ?? 2,
      reminder_every_days: template?.reminder_every_days ?? 3,
      reminder_max: template?.reminder_max ?? 5,
    },
  });
  const values = form.getValues();

  const save = submit(async ({ documents: chosen, roles, ...rest }) => {
    const keyed = withKeys(roles);
    const documentIds = chosen.map((document) => document.id);
    const body = {
      ...rest,
      document_ids: documentIds,
      roles: keyed.map((role) => ({ ...role, role: role.role as "signer" })),
    };
    const saved = template
      ? data(
          await api.PATCH("/v1/envelope-templates/{template_id}", {
            params: { path: { template_id: template.id } },
            body: { ...body, fields: templateFieldSpecs(savedFields(template, documentIds, keyed, fields)) },
          }),
        )
      : data(await api.POST("/v1/envelope-templates", { body }));
    // New roles got their keys: the builder offers them from now on.
    form.setFieldValue("roles", roleDrafts(saved.roles));
    setFields(placedTemplateFields(saved.fields));
    await queryClient.invalidateQueries({ queryKey: keys.templates });
    notifications.show({ message: `${saved.name} is saved.` });
    if (!template) await navigate({ to: "/envelope-templates/$templateId", params: { templateId: saved.id } });
  });

  return (
    <>
      <Anchor component={Link} to="/envelope-templates" size="sm">
        ← Templates
      </Anchor>
      <PageHeader
        title={template ? template.name : "New template"}
        description={template ? `${template.fields.length} fields placed on its documents.` : undefined}
        actions={
          template &&
          manager && (
            <ConfirmAction
              label="Delete template"
              title={`Delete ${template.name}?`}
              consequence="The template goes; envelopes already made from it are kept as they are."
              onConfirm={async () => {
                data(await api.DELETE("/v1/envelope-templates/{template_id}", { params: { path: { template_id: template.id } } }));
                await queryClient.invalidateQueries({ queryKey: keys.templates });
                await navigate({ to: "/envelope-templates" });
              }}
            />
          )
        }
      />
      {!manager && (
        <Alert color="gray" mb="md" title="Kept by owners and admins">
          You can use this template for a client below; an owner or admin changes it.
        </Alert>
      )}
      <form onSubmit={save} noValidate>
        <fieldset disabled={!manager} style={{ border: 0, padding: 0, margin: 0 }}>
          <Stack gap="md" maw={980}>
            <Paper withBorder p="sm" component="section" aria-labelledby="template-details">
              <Title order={2} size="h4" id="template-details" mb="xs">
                Details
              </Title>
              <Stack gap="xs">
                <TextInput label="Template name" required {...form.getInputProps("name")} />
                <TextInput label="Envelope title" required {...form.getInputProps("title")} />
                <Textarea label="Message to the recipients" autosize minRows={2} {...form.getInputProps("message")} />
                <Group grow align="flex-start">
                  <NumberInput label="Expires after (days)" min={1} max={120} allowDecimal={false} {...form.getInputProps("expiry_days")} />
                  <NumberInput label="First reminder after (days)" min={1} max={60} allowDecimal={false} {...form.getInputProps("reminder_first_days")} />
                  <NumberInput label="Then every (days)" min={1} max={60} allowDecimal={false} {...form.getInputProps("reminder_every_days")} />
                  <NumberInput label="At most (reminders)" min={0} max={20} allowDecimal={false} {...form.getInputProps("reminder_max")} />
                </Group>
              </Stack>
            </Paper>
            <DocumentPicker value={values.documents} onChange={(chosen) => form.setFieldValue("documents", chosen)} />
            <RolesEditor roles={values.roles} onChange={(roles) => form.setFieldValue("roles", roles)} errors={form.errors} />
            {template ? (
              <TemplateFieldsSection
                templateId={template.id}
                measured={template.documents}
                chosen={values.documents.map((document) => document.id)}
                roles={values.roles}
                fields={fields}
                onChange={setFields}
                readOnly={!manager}
              />
            ) : (
              <Text size="sm" c="gray.7">
                Once the template is created, each role&apos;s fields are placed on its documents here.
              </Text>
            )}
            <ProblemAlert error={error} unplaced={unplaced} />
            {manager && (
              <Group>
                <Button type="submit" loading={submitting}>
                  {template ? "Save template" : "Create template"}
                </Button>
              </Group>
            )}
          </Stack>
        </fieldset>
      </form>
    </>
  );
}

/** The fields a save sends: those on the saved documents still chosen, of roles that fill fields. */
function savedFields(template: Template, documentIds: string[], roles: RoleDraft[], fields: PlacedField[]): PlacedField[] {
  const documents = templateBuilderDocuments(template.documents, documentIds, () => "");
  return keptFields(fields, roleParties(roles), documents);
}
