import { Button, Group, NumberInput, Paper, Stack, Switch, Text, TextInput, Title } from "@mantine/core";

import type { Party, PlacedField } from "./builderModel";
import { FIELD_LABELS, clampToPage, fromPercent, toPercent, type Box, type Size } from "./geometry";

interface Props {
  field: PlacedField;
  party: Party | undefined;
  minimum: Size;
  readOnly: boolean;
  onChange: (patch: Partial<PlacedField>) => void;
  onDelete: () => void;
}

const BOX_INPUTS: { key: keyof Box; label: string }[] = [
  { key: "x", label: "From the left (%)" },
  { key: "y", label: "From the top (%)" },
  { key: "width", label: "Width (%)" },
  { key: "height", label: "Height (%)" },
];

/** The selected field's settings; its position and size as percentages, for precise keyboard placement. */
export function FieldInspector({ field, party, minimum, readOnly, onChange, onDelete }: Props) {
  const setBox = (key: keyof Box, percent: number | string) => {
    if (typeof percent !== "number") return;
    const box = { x: field.x, y: field.y, width: field.width, height: field.height, [key]: fromPercent(percent) };
    onChange(clampToPage(box, minimum));
  };

  return (
    <Paper withBorder p="sm" component="section" aria-labelledby="builder-field">
      <Title order={2} size="h5" id="builder-field" mb={4}>
        Selected field
      </Title>
      <Text size="sm" mb="xs">
        {FIELD_LABELS[field.kind]} for {party?.label ?? "nobody"}, page {field.page}
      </Text>
      <Stack gap="xs">
        <TextInput
          label="Label"
          description="What the signer sees beside it"
          value={field.label}
          maxLength={200}
          disabled={readOnly}
          onChange={(event) => onChange({ label: event.currentTarget.value })}
        />
        <Switch
          label="Required"
          checked={field.required}
          disabled={readOnly}
          onChange={(event) => onChange({ required: event.currentTarget.checked })}
        />
        <Group grow gap="xs">
          {BOX_INPUTS.map(({ key, label }) => (
            <NumberInput
              key={key}
              label={label}
              size="xs"
              min={0}
              max={100}
              step={0.5}
              decimalScale={2}
              value={toPercent(field[key])}
              disabled={readOnly}
              onChange={(value) => setBox(key, value)}
            />
          ))}
        </Group>
        {!readOnly && (
          <Button color="red" variant="light" onClick={onDelete}>
            Delete field
          </Button>
        )}
      </Stack>
    </Paper>
  );
}
