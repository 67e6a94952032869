import { notifications } from "@mantine/notifications";
import {
  ActionIcon,
  Alert,
  Anchor,
  Button,
  Code,
  FileInput,
  Group,
  Loader,
  Paper,
  Select,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { IconTrash } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";
import { ASSIGNABLE_ROLES, ssoBody, ssoFormValues, type SsoFormValues } from "./sso";
import { roleLabel } from "./users";

type SamlConfig = components["schemas"]["SamlConfigRead"];

const SSO_CONFIGS = ["sso-configs"] as const;

export function SsoPage() {
  const configs = useQuery({
    queryKey: SSO_CONFIGS,
    queryFn: async () => data(await api.GET("/v1/sso-configs")),
  });
  const config = configs.data?.items[0] ?? null;

  return (
    <Stack>
      <PageHeader
        title="Single sign-on"
        description="Let your people sign in through your identity provider (SAML 2.0): Okta, Entra ID, Google Workspace and the like."
      />
      <ProblemAlert error={configs.error} />
      {configs.isPending && <Loader aria-label="Loading the SSO configuration" />}
      {configs.isSuccess && (
        <>
          {config && <ServiceProviderDetails config={config} />}
          <SsoForm key={config?.updated_at ?? "new"} config={config} />
          {config && <DeleteSso config={config} />}
        </>
      )}
    </Stack>
  );
}

/** What the IdP administrator enters on their side, and a way to try the sign-in. */
function ServiceProviderDetails({ config }: { config: SamlConfig }) {
  const me = useMe();
  const slug = encodeURIComponent(me.firm.slug);
  const metadataUrl = `/v1/sso/${slug}/metadata`;
  const loginUrl = `/v1/sso/${slug}/login`;
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="sp-details">
      <Title order={2} size="h4" id="sp-details" mb="sm">
        For your identity provider
      </Title>
      <Stack gap="xs">
        <Text size="sm">
          Entity ID (audience): <Code>{config.sp_entity_id}</Code>
        </Text>
        <Text size="sm">
          Assertion consumer service URL: <Code>{config.acs_url}</Code>
        </Text>
        <Text size="sm">
          Identity provider: <Code>{config.idp_entity_id}</Code>, updated{" "}
          {formatDateTime(config.updated_at, me.firm.time_zone)}
        </Text>
        <Group gap="md">
          <Anchor href={metadataUrl} download={`firmflow-${me.firm.slug}-sp-metadata.xml`}>
            Download SP metadata (XML)
          </Anchor>
          <Anchor href={loginUrl} target="_blank" rel="noopener noreferrer">
            Test sign-in through your identity provider (opens a new tab)
          </Anchor>
        </Group>
        {!config.enabled && (
          <Text size="sm" c="orange.9">
            Single sign-on is switched off: the test sign-in is refused until you switch it on.
          </Text>
        )}
      </Stack>
    </Paper>
  );
}

function SsoForm({ config }: { config: SamlConfig | null }) {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<SsoFormValues>({
    initialValues: ssoFormValues(config),
  });
  const [fileProblem, setFileProblem] = useState<string | null>(null);

  const readFile = async (file: File | null) => {
    setFileProblem(null);
    if (!file) return;
    try {
      form.setFieldValue("idp_metadata_xml", await file.text());
    } catch {
      setFileProblem("This file could not be read; paste its contents below instead.");
    }
  };

  const save = submit(async (values) => {
    if (config) {
      data(
        await api.PATCH("/v1/sso-configs/{sso_config_id}", {
          params: { path: { sso_config_id: config.id } },
          body: ssoBody(values, false),
        }),
      );
    } else {
      data(await api.POST("/v1/sso-configs", { body: ssoBody(values, true) }));
    }
    notifications.show({ message: "Single sign-on configuration saved.", color: "green" });
    await queryClient.invalidateQueries({ queryKey: SSO_CONFIGS });
  });

  const mapping = form.getValues().role_mapping;
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="sso-settings">
      <Title order={2} size="h4" id="sso-settings" mb="sm">
        {config ? "Configuration" : "Set up single sign-on"}
      </Title>
      <form onSubmit={save} noValidate>
        <Stack maw={640}>
          <ProblemAlert error={error} unplaced={unplaced} />
          <Title order={3} size="h5">
            Identity provider metadata
          </Title>
          <FileInput
            label="Metadata file"
            description="The XML file your identity provider offers for download"
            accept=".xml,application/xml,text/xml,application/samlmetadata+xml"
            clearable
            onChange={readFile}
            error={fileProblem}
          />
          <Textarea
            label="Metadata XML"
            description={
              config
                ? "Leave empty to keep the metadata you uploaded; paste or upload new metadata to replace it."
                : "Or paste it here."
            }
            autosize
            minRows={4}
            maxRows={12}
            required={!config}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)", fontSize: 12 } }}
            {...form.getInputProps("idp_metadata_xml")}
            key={form.key("idp_metadata_xml")}
          />
          <Title order={3} size="h5">
            Attribute mapping
          </Title>
          <TextInput
            label="Email attribute"
            description="Leave empty to take the email from the assertion's NameID"
            {...form.getInputProps("email_attribute")}
            key={form.key("email_attribute")}
          />
          <TextInput label="Name attribute" {...form.getInputProps("name_attribute")} key={form.key("name_attribute")} />
          <TextInput
            label="Groups attribute"
            description="The attribute listing the user's groups, which the role mapping reads"
            {...form.getInputProps("groups_attribute")}
            key={form.key("groups_attribute")}
          />
          <Stack gap="xs">
            <Text size="sm" fw={500}>
              Role mapping
            </Text>
            <Text size="xs" c="gray.7">
              A user in one of these groups gets its role. Owners are made in firmflow only.
            </Text>
            {mapping.map((row, index) => (
              <Group key={form.key(`role_mapping.${index}`)} align="flex-end" gap="xs">
                <TextInput
                  label={`Group ${index + 1}`}
                  {...form.getInputProps(`role_mapping.${index}.group`)}
                />
                <Select
                  label={`Role for group ${index + 1}`}
                  allowDeselect={false}
                  data={ASSIGNABLE_ROLES.map((role) => ({ value: role, label: roleLabel(role) }))}
                  {...form.getInputProps(`role_mapping.${index}.role`)}
                />
                <ActionIcon
                  variant="default"
                  size="lg"
                  aria-label={`Remove group ${row.group || index + 1}`}
                  onClick={() => form.removeListItem("role_mapping", index)}
                >
                  <IconTrash size={16} />
                </ActionIcon>
              </Group>
            ))}
            <Button
              variant="default"
              size="xs"
              w="fit-content"
              onClick={() => form.insertListItem("role_mapping", { group: "", role: "staff" })}
            >
              Add a group
            </Button>
          </Stack>
          <Select
            label="Role of a new user in no mapped group"
            data={[
              { value: "", label: "Refuse them" },
              ...ASSIGNABLE_ROLES.map((role) => ({ value: role, label: roleLabel(role) })),
            ]}
            allowDeselect={false}
            {...form.getInputProps("default_role")}
            key={form.key("default_role")}
          />
          <Title order={3} size="h5">
            Behaviour
          </Title>
          <Switch
            label="Single sign-on is on"
            {...form.getInputProps("enabled", { type: "checkbox" })}
            key={form.key("enabled")}
          />
          <Switch
            label="Create users on their first sign-in (just-in-time)"
            {...form.getInputProps("jit_provisioning", { type: "checkbox" })}
            key={form.key("jit_provisioning")}
          />
          <Switch
            label="Require single sign-on (password sign-in is refused)"
            {...form.getInputProps("enforce_sso", { type: "checkbox" })}
            key={form.key("enforce_sso")}
          />
          <Switch
            label="Accept sign-ins started at the identity provider"
            {...form.getInputProps("allow_idp_initiated", { type: "checkbox" })}
            key={form.key("allow_idp_initiated")}
          />
          {form.getValues().enforce_sso && (
            <Alert color="yellow" title="Passwords stop working" styles={{ title: { color: "var(--mantine-color-gray-9)" } }}>
              With single sign-on required, your people sign in only through the identity provider. Test the
              sign-in first.
            </Alert>
          )}
          <Button type="submit" loading={submitting} w="fit-content">
            {config ? "Save configuration" : "Save and enable"}
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}

function DeleteSso({ config }: { config: SamlConfig }) {
  const queryClient = useQueryClient();
  const remove = async () => {
    await api.DELETE("/v1/sso-configs/{sso_config_id}", { params: { path: { sso_config_id: config.id } } });
    notifications.show({ message: "Single sign-on configuration deleted." });
    await queryClient.invalidateQueries({ queryKey: SSO_CONFIGS });
  };
  return (
    <ConfirmAction
      label="Delete SSO configuration"
      title="Delete the single sign-on configuration?"
      w="fit-content"
      consequence={
        <>
          Sign-in through {config.idp_entity_id} stops at once: only people who have a firmflow password can
          still sign in. Your identity provider keeps its side until you remove it there.
        </>
      }
      onConfirm={remove}
    />
  );
}
