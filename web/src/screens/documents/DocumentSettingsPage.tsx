import { Stack } from "@mantine/core";

import { LegalHolds } from "./LegalHolds";
import { RetentionPolicies } from "./RetentionPolicies";
import { DeletionRecord, RetentionPreview } from "./RetentionReport";
import { UploadSettings } from "./UploadSettings";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";

export function DocumentSettingsPage() {
  const { user } = useMe();
  // documents:manage: owners and admins change policies and holds; everyone else reads them.
  const manager = user.role === "owner" || user.role === "admin";
  return (
    <>
      <PageHeader
        title="Document settings"
        description="Storage and uploads, how long each type of document is kept, and the legal holds that stop every deletion."
      />
      <Stack gap="xl">
        <UploadSettings />
        <RetentionPolicies manager={manager} />
        <LegalHolds manager={manager} />
        <RetentionPreview />
        <DeletionRecord />
      </Stack>
    </>
  );
}
