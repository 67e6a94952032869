import { ActionIcon, Button, Checkbox, Group, NumberInput, Paper, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconX } from "@tabler/icons-react";

import { RECIPIENT_ROLES, ROLE_LABELS, compactOrders, moveRecipient, nextOrder, recipientColour } from "./recipients";
import type { RoleDraft } from "./templates";

interface Props {
  roles: RoleDraft[];
  onChange: (roles: RoleDraft[]) => void;
  errors: Record<string, unknown>;
}

/** A template's roles: who signs ("Client", "Spouse"), in what order; people are chosen when it is used. */
export function RolesEditor({ roles, onChange, errors }: Props) {
  const set = (index: number, patch: Partial<RoleDraft>) =>
    onChange(roles.map((role, at) => (at === index ? { ...role, ...patch } : role)));
  const error = (index: number, member: string) => {
    const message = errors[`roles.${index}.${member}`];
    return typeof message === "string" ? message : undefined;
  };
  return (
    <Paper withBorder p="sm" component="section" aria-labelledby="template-roles">
      <Title order={2} size="h4" id="template-roles" mb={4}>
        Roles
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Order 1 receives it first; the same order number signs in parallel.
      </Text>
      <Stack gap="sm">
        {roles.map((role, index) => (
          <Group
            key={index}
            align="flex-start"
            gap="xs"
            role="group"
            aria-label={`Role ${index + 1}`}
            style={{ borderLeft: `4px solid ${recipientColour(index)}`, paddingLeft: 8 }}
          >
            <TextInput
              label="Role name"
              required
              value={role.name}
              error={error(index, "name") ?? error(index, "key")}
              onChange={(event) => set(index, { name: event.currentTarget.value })}
              w={220}
            />
            <Select
              label="Acts as"
              data={RECIPIENT_ROLES.map((value) => ({ value, label: ROLE_LABELS[value] }))}
              value={role.role}
              allowDeselect={false}
              onChange={(value) => set(index, { role: value ?? "signer" })}
              w={150}
            />
            <NumberInput
              label="Order"
              min={1}
              max={100}
              allowDecimal={false}
              value={role.routing_order}
              onChange={(value) => set(index, { routing_order: typeof value === "number" ? value : 1 })}
              w={80}
            />
            <Checkbox
              mt={30}
              label="Code by email"
              checked={role.require_code}
              onChange={(event) => set(index, { require_code: event.currentTarget.checked })}
            />
            <Group gap={2} mt={26}>
              <ActionIcon variant="subtle" aria-label={`Move role ${index + 1} up`} disabled={index === 0} onClick={() => onChange(moveRecipient(roles, index, -1))}>
                <IconArrowUp size={16} />
              </ActionIcon>
              <ActionIcon
                variant="subtle"
                aria-label={`Move role ${index + 1} down`}
                disabled={index === roles.length - 1}
                onClick={() => onChange(moveRecipient(roles, index, 1))}
              >
                <IconArrowDown size={16} />
              </ActionIcon>
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={`Remove role ${index + 1}`}
                onClick={() => onChange(compactOrders(roles.filter((_, at) => at !== index)))}
              >
                <IconX size={16} />
              </ActionIcon>
            </Group>
          </Group>
        ))}
        <Button
          variant="default"
          w="fit-content"
          onClick={() =>
            onChange([...roles, { key: "", name: "", role: "signer", routing_order: nextOrder(roles), require_code: false }])
          }
        >
          Add role
        </Button>
      </Stack>
    </Paper>
  );
}
