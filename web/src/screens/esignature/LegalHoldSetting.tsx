import { Paper, Switch, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { keys } from "./queries";
import { api, data } from "@/api/client";
import { ProblemAlert } from "@/components/ProblemAlert";

/** Whether a completed envelope's sealed documents go under legal hold. */
export function LegalHoldSetting() {
  const queryClient = useQueryClient();
  const settings = useQuery({
    queryKey: keys.settings,
    queryFn: async () => data(await api.GET("/v1/firm/esignature-settings")),
  });
  const save = useMutation({
    mutationFn: async (legalHold: boolean) =>
      data(await api.PUT("/v1/firm/esignature-settings", { body: { legal_hold_on_completion: legalHold } })),
    onSuccess: (saved) => {
      queryClient.setQueryData(keys.settings, saved);
      notifications.show({
        message: saved.legal_hold_on_completion
          ? "Signed documents will be put under legal hold."
          : "Signed documents will not be put under legal hold.",
      });
    },
  });
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="esignature-legal-hold">
      <Title order={2} size="h4" id="esignature-legal-hold" mb="xs">
        Signed documents
      </Title>
      <ProblemAlert error={settings.error ?? save.error} />
      <Switch
        label="Put every signed document under legal hold"
        description="When an envelope completes, its sealed documents are held: no one and no retention policy can delete them until the hold is released under Settings → Documents."
        checked={settings.data?.legal_hold_on_completion ?? false}
        disabled={!settings.isSuccess || save.isPending}
        onChange={(event) => save.mutate(event.currentTarget.checked)}
      />
      <Text size="xs" c="gray.7" mt="xs">
        Applies to envelopes that complete from now on.
      </Text>
    </Paper>
  );
}
