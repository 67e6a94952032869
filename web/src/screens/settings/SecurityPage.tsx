import { notifications } from "@mantine/notifications";
import { Anchor, Badge, Group, List, Loader, Paper, Stack, Text, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";

const POLICY = ["security-policy"] as const;

export function SecurityPage() {
  const policy = useQuery({
    queryKey: POLICY,
    queryFn: async () => data(await api.GET("/v1/firm/security-policy")),
  });

  return (
    <Stack>
      <PageHeader title="Security" description="Rules every member of your firm signs in under." />
      <ProblemAlert error={policy.error} />
      {policy.isPending && <Loader aria-label="Loading the security policy" />}
      {policy.isSuccess && <TwoFactorPolicy required={policy.data.require_two_factor} />}
    </Stack>
  );
}

function TwoFactorPolicy({ required }: { required: boolean }) {
  const queryClient = useQueryClient();
  const setRequired = async (requireTwoFactor: boolean) => {
    data(await api.PUT("/v1/firm/security-policy", { body: { require_two_factor: requireTwoFactor } }));
    notifications.show({ message: requireTwoFactor ? "Two-factor is now required of every member." : "Two-factor is now optional.", color: "green" });
    await queryClient.invalidateQueries({ queryKey: POLICY });
  };

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="two-factor-policy">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4" id="two-factor-policy">
          Two-factor sign-in
        </Title>
        <Badge
          color={required ? "green" : "gray"}
          variant="light"
          data-testid="two-factor-state"
        >
          {required ? "Required of every member" : "Optional"}
        </Badge>
      </Group>
      <Stack gap="sm" maw={680}>
        <Text size="sm">
          {required
            ? "Every member signing in with a password must also enter a code from their authenticator app."
            : "Members choose whether to protect their sign-in with a code from an authenticator app."}{" "}
          Set up your own on the{" "}
          <Anchor href="/account/two-factor">
            Two-factor
          </Anchor>{" "}
          page.
        </Text>
        {required ? (
          <ConfirmAction
            label="Stop requiring two-factor"
            title="Stop requiring two-factor?"
            w="fit-content"
            consequence={
              <>
                Members who set up two-factor keep it; the others sign in with their password alone, and anyone
                may switch two-factor off for their own account.
              </>
            }
            onConfirm={() => setRequired(false)}
          />
        ) : (
          <ConfirmAction
            label="Require two-factor"
            title="Require two-factor of every member?"
            confirmColor="blue"
            w="fit-content"
            consequence={<RequireConsequences />}
            onConfirm={() => setRequired(true)}
          />
        )}
      </Stack>
    </Paper>
  );
}

function RequireConsequences() {
  return (
    <List size="sm" spacing="xs">
      <List.Item>
        Members without two-factor are not signed in at their next password sign-in: they must first set it up
        (scan a QR code with an authenticator app and enter a code), and they cannot reach firmflow until they do.
      </List.Item>
      <List.Item>
        Sessions and API tokens that exist now keep working until they end. To apply the rule at once, deactivate
        and reactivate a member.
      </List.Item>
      <List.Item>Nobody can switch two-factor off for their own account while this is on.</List.Item>
      <List.Item>
        Sign-in through single sign-on is not affected: your identity provider asks for its own second factor.
      </List.Item>
    </List>
  );
}
