import {
  Button,
  Checkbox,
  Group,
  Loader,
  NumberInput,
  Paper,
  Progress,
  Select,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  Title,
} from "@mantine/core";
import { TimeInput } from "@mantine/dates";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { formatBytes, quotaPercent } from "./files";
import { keys } from "./queries";
import { SEARCH_CONFIGS, WEEKDAYS, settingsBody, settingsValues, type SettingsValues } from "./settingsForm";
import type { DocumentSettingsRead } from "./types";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

export function UploadSettings() {
  const settings = useQuery({
    queryKey: keys.settings,
    queryFn: async () => data(await api.GET("/v1/firm/document-settings")),
  });
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="upload-settings">
      <Title order={2} size="h4" id="upload-settings" mb="sm">
        Storage and uploads
      </Title>
      <ProblemAlert error={settings.error} />
      {settings.isPending && <Loader aria-label="Loading the settings" />}
      {settings.isSuccess && <SettingsForm key={JSON.stringify(settings.data)} settings={settings.data} />}
    </Paper>
  );
}

function SettingsForm({ settings }: { settings: DocumentSettingsRead }) {
  const queryClient = useQueryClient();
  const { firm, user } = useMe();
  const manager = user.role === "owner" || user.role === "admin";
  const used = quotaPercent(settings.bytes_used, settings.documents_quota_bytes);
  const { form, error, unplaced, submit, submitting } = useApiForm<SettingsValues>({
    initialValues: settingsValues(settings),
  });
  const save = submit(async (values) => {
    const saved = data(await api.PUT("/v1/firm/document-settings", { body: settingsBody(values) }));
    queryClient.setQueryData(keys.settings, saved);
    notifications.show({ message: "The document settings are saved.", color: "green" });
  });

  return (
    <Stack gap="md">
      <Stack gap={4}>
        <Text size="sm">
          {formatBytes(settings.bytes_used)} used of {formatBytes(settings.documents_quota_bytes)}
          {used !== null && ` (${used}%)`}; a file stored twice counts once.
        </Text>
        <Progress
          value={used ?? 0}
          color={used !== null && used >= 90 ? "red" : "blue"}
          aria-label="Storage used of the quota"
        />
      </Stack>
      <form onSubmit={save} noValidate>
        <fieldset disabled={!manager} style={{ border: 0, padding: 0, margin: 0 }}>
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
            <NumberInput
              label="Storage quota (MB)"
              description="Uploads beyond it are refused; nothing stored is deleted"
              min={1}
              {...form.getInputProps("documents_quota_bytes")}
              key={form.key("documents_quota_bytes")}
            />
            <NumberInput
              label="Largest upload (MB)"
              min={1}
              {...form.getInputProps("upload_limit_bytes")}
              key={form.key("upload_limit_bytes")}
            />
            <TagsInput
              label="Allowed file types"
              description="Media types detected from the content (application/pdf); empty allows every type firmflow recognises"
              {...form.getInputProps("allowed_upload_types")}
              key={form.key("allowed_upload_types")}
            />
            <Select
              label="Search language"
              description="How words are stemmed; applies to versions indexed from now on"
              data={SEARCH_CONFIGS.map((config) => ({ value: config, label: config }))}
              allowDeselect={false}
              {...form.getInputProps("search_config")}
              key={form.key("search_config")}
            />
          </SimpleGrid>
          <Checkbox.Group
            label="Business days"
            description={`Review reminders keep to these days and hours (${firm.time_zone})`}
            mt="sm"
            {...form.getInputProps("business_days")}
            key={form.key("business_days")}
          >
            <Group mt={6}>
              {WEEKDAYS.map((day) => (
                <Checkbox key={day.value} value={String(day.value)} label={day.label} />
              ))}
            </Group>
          </Checkbox.Group>
          <Group mt="sm">
            <TimeInput label="Business hours start" {...form.getInputProps("business_start")} key={form.key("business_start")} />
            <TimeInput label="Business hours end" {...form.getInputProps("business_end")} key={form.key("business_end")} />
          </Group>
          <ProblemAlert error={error} unplaced={unplaced} />
          {manager ? (
            <Button type="submit" mt="md" loading={submitting}>
              Save settings
            </Button>
          ) : (
            <Text size="sm" c="gray.7" mt="sm">
              Only an owner or an admin changes these settings.
            </Text>
          )}
        </fieldset>
      </form>
    </Stack>
  );
}
