import { Alert, Stack } from "@mantine/core";

import { LegalHoldSetting } from "./LegalHoldSetting";
import { ProviderConnections } from "./ProviderConnections";
import { SealingCertificate } from "./SealingCertificate";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";

export function EsignatureSettingsPage() {
  const { user } = useMe();
  // Settings, connections and the certificate are esignature:manage, the owners' and admins'.
  const manager = user.role === "owner" || user.role === "admin";
  return (
    <>
      <PageHeader
        title="E-signature settings"
        description="What happens to signed documents, the outside providers the firm uses, and the certificate that seals them."
      />
      {manager ? (
        <Stack gap="xl" maw={900}>
          <LegalHoldSetting />
          <ProviderConnections />
          <SealingCertificate />
        </Stack>
      ) : (
        <Alert color="gray" title="Owners and admins only">
          These settings are changed by the firm&apos;s owners and admins; ask one of them.
        </Alert>
      )}
    </>
  );
}
