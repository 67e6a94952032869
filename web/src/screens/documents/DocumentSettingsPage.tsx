import { Stack } from "@mantine/core";

import { LegalHolds } from "./LegalHolds";
import { RetentionPolicies } from "./RetentionPolicies";
import { DeletionRecord, RetentionPreview } from "./RetentionReport";
import { UploadSettings } from "./UploadSettings";
import { PageHeader } from "@/components/PageHeader";

export function DocumentSettingsPage() {
  return (
    <>
      <PageHeader
        title="Document settings"
        description="Storage and uploads, how long each type of document is kept, and the legal holds that stop every deletion."
      />
      <Stack gap="xl">
        <UploadSettings />
        <RetentionPolicies />
        <LegalHolds />
        <RetentionPreview />
        <DeletionRecord />
      </Stack>
    </>
  );
}
