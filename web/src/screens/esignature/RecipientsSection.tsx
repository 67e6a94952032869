import { Button, Group, Modal, Paper, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";

import { RecipientStatusBadge } from "./badges";
import { keys } from "./queries";
import { ROLE_LABELS, groupLabel, orderGroups, recipientColour, type RecipientRole } from "./recipients";
import { correctable } from "./status";
import type { EnvelopeRead, RecipientRead } from "./types";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

/** The recipients by signing group, each with where they are and when they acted. */
export function RecipientsSection({ envelope }: { envelope: EnvelopeRead }) {
  const { firm } = useMe();
  const colourOf = (recipient: RecipientRead) => recipientColour(envelope.recipients.indexOf(recipient));
  const groups = orderGroups(envelope.recipients);

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="envelope-recipients-heading">
      <Title order={2} size="h4" id="envelope-recipients-heading" mb="sm">
        Recipients
      </Title>
      <Stack gap="md">
        {groups.map((group) => (
          <Table key={group.order} aria-label={groupLabel(group)} data-group={group.order}>
            <caption style={{ textAlign: "left", fontWeight: 600, captionSide: "top", paddingBottom: 4 }}>
              {groupLabel(group)}
            </caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Last step</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {group.members.map((recipient) => (
                <Table.Tr key={recipient.id} data-recipient={recipient.email}>
                  <Table.Td style={{ borderLeft: `4px solid ${colourOf(recipient)}` }}>{recipient.name}</Table.Td>
                  <Table.Td>{recipient.email}</Table.Td>
                  <Table.Td>{ROLE_LABELS[recipient.role as RecipientRole] ?? recipient.role}</Table.Td>
                  <Table.Td>
                    <RecipientStatusBadge status={recipient.status} />
                    {recipient.decline_reason && (
                      <Text size="xs" c="gray.7">
                        “{recipient.decline_reason}”
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{lastStep(recipient, firm.time_zone)}</Table.Td>
                  <Table.Td>
                    {correctable(envelope.status, recipient.status) && (
                      <CorrectRecipient envelopeId={envelope.id} recipient={recipient} draft={envelope.status === "draft"} />
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ))}
      </Stack>
    </Paper>
  );
}

function lastStep(recipient: RecipientRead, zone: string): string {
  if (recipient.signed_at) return `Signed ${formatDateTime(recipient.signed_at, zone)}`;
  if (recipient.declined_at) return `Declined ${formatDateTime(recipient.declined_at, zone)}`;
  if (recipient.viewed_at) return `Viewed ${formatDateTime(recipient.viewed_at, zone)}`;
  if (recipient.sent_at) return `Sent ${formatDateTime(recipient.sent_at, zone)}`;
  return "—";
}

/** A wrong name or email fixed before they sign: audited, and their old link stops working. */
function CorrectRecipient({ envelopeId, recipient, draft }: { envelopeId: string; recipient: RecipientRead; draft: boolean }) {
  const [opened, { open, close }] = useDisclosure(false);
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: { name: recipient.name, email: recipient.email },
  });
  const save = submit(async (values) => {
    data(
      await api.PATCH("/v1/envelopes/{envelope_id}/recipients/{recipient_id}", {
        params: { path: { envelope_id: envelopeId, recipient_id: recipient.id } },
        body: values,
      }),
    );
    notifications.show({ message: draft ? `${values.name} is saved.` : `${values.name} gets a new signing link.` });
    await queryClient.invalidateQueries({ queryKey: keys.one(envelopeId) });
    close();
  });
  return (
    <>
      <Button size="xs" variant="default" onClick={open} aria-label={`Correct ${recipient.name}`}>
        Correct
      </Button>
      <Modal opened={opened} onClose={close} title={`Correct ${recipient.name}`} closeButtonProps={{ "aria-label": "Close" }}>
        <form onSubmit={save} noValidate>
          <Stack>
            <Text size="sm">
              {draft
                ? "Nothing has been sent yet; the envelope goes to the address below."
                : `The link sent to ${recipient.email} stops working and a new one goes to the address below. The change is in the audit trail.`}
            </Text>
            <TextInput label="Name" required {...form.getInputProps("name")} />
            <TextInput label="Email" type="email" required {...form.getInputProps("email")} />
            <ProblemAlert error={error} unplaced={unplaced} />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={submitting}>
                {draft ? "Save" : "Save and send a new link"}
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
