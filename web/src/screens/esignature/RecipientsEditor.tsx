import { ActionIcon, Button, Checkbox, Group, NumberInput, Paper, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconX } from "@tabler/icons-react";

import {
  RECIPIENT_ROLES,
  ROLE_LABELS,
  compactOrders,
  groupLabel,
  moveRecipient,
  nextOrder,
  orderGroups,
  recipientColour,
} from "./recipients";

export interface RecipientDraft {
  name: string;
  email: string;
  role: string;
  routing_order: number;
  require_code: boolean;
}

interface Props {
  recipients: RecipientDraft[];
  onChange: (recipients: RecipientDraft[]) => void;
  /** Each recipient's field errors, by "recipients.<index>.<member>" (the API's pointers). */
  errors: Record<string, unknown>;
}

export function blankRecipient(others: readonly RecipientDraft[]): RecipientDraft {
  return { name: "", email: "", role: "signer", routing_order: nextOrder(others), require_code: false };
}

/** Who receives the envelope and in what order: the same number signs in parallel, lower numbers first. */
export function RecipientsEditor({ recipients, onChange, errors }: Props) {
  const set = (index: number, patch: Partial<RecipientDraft>) =>
    onChange(recipients.map((recipient, at) => (at === index ? { ...recipient, ...patch } : recipient)));
  const error = (index: number, member: string) => {
    const message = errors[`recipients.${index}.${member}`];
    return typeof message === "string" ? message : undefined;
  };
  const groups = orderGroups(recipients);

  return (
    <Paper withBorder p="sm" component="section" aria-labelledby="envelope-recipients">
      <Title order={2} size="h4" id="envelope-recipients" mb={4}>
        Recipients
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Order 1 receives it first; the next order once everyone before has signed. The same order number signs in parallel.
        {groups.length > 0 && ` Now: ${groups.map((group) => `${groupLabel(group)} (${group.members.length})`).join(", then ")}.`}
      </Text>
      <Stack gap="sm">
        {recipients.map((recipient, index) => (
          <Group
            key={index}
            align="flex-start"
            gap="xs"
            wrap="wrap"
            role="group"
            aria-label={`Recipient ${index + 1}`}
            style={{ borderLeft: `4px solid ${recipientColour(index)}`, paddingLeft: 8 }}
          >
            <TextInput
              label="Name"
              required
              value={recipient.name}
              error={error(index, "name")}
              onChange={(event) => set(index, { name: event.currentTarget.value })}
              w={200}
            />
            <TextInput
              label="Email"
              type="email"
              required
              value={recipient.email}
              error={error(index, "email")}
              onChange={(event) => set(index, { email: event.currentTarget.value })}
              w={240}
            />
            <Select
              label="Role"
              data={RECIPIENT_ROLES.map((role) => ({ value: role, label: ROLE_LABELS[role] }))}
              value={recipient.role}
              allowDeselect={false}
              error={error(index, "role")}
              onChange={(role) => set(index, { role: role ?? "signer" })}
              w={140}
            />
            <NumberInput
              label="Order"
              min={1}
              max={100}
              allowDecimal={false}
              value={recipient.routing_order}
              error={error(index, "routing_order")}
              onChange={(value) => set(index, { routing_order: typeof value === "number" ? value : 1 })}
              w={80}
            />
            <Checkbox
              mt={30}
              label="Code by email"
              checked={recipient.require_code}
              onChange={(event) => set(index, { require_code: event.currentTarget.checked })}
            />
            <Group gap={2} mt={26}>
              <ActionIcon
                variant="subtle"
                aria-label={`Move recipient ${index + 1} up`}
                disabled={index === 0}
                onClick={() => onChange(moveRecipient(recipients, index, -1))}
              >
                <IconArrowUp size={16} />
              </ActionIcon>
              <ActionIcon
                variant="subtle"
                aria-label={`Move recipient ${index + 1} down`}
                disabled={index === recipients.length - 1}
                onClick={() => onChange(moveRecipient(recipients, index, 1))}
              >
                <IconArrowDown size={16} />
              </ActionIcon>
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={`Remove recipient ${index + 1}`}
                onClick={() => onChange(compactOrders(recipients.filter((_, at) => at !== index)))}
              >
                <IconX size={16} />
              </ActionIcon>
            </Group>
          </Group>
        ))}
        <Button variant="default" w="fit-content" onClick={() => onChange([...recipients, blankRecipient(recipients)])}>
          Add recipient
        </Button>
      </Stack>
    </Paper>
  );
}
