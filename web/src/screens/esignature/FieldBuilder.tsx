import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  useDraggable,
  useSensor,
  useSensors,
  type Announcements,
  type DragEndEvent,
} from "@dnd-kit/core";
import { Button, Grid, Group, Paper, Radio, Select, Stack, Text, Title } from "@mantine/core";
import { useCallback, useRef, useState } from "react";

import {
  countByParty,
  fieldsOnPage,
  newFieldKey,
  pageSize,
  type BuilderDocument,
  type Party,
  type PlacedField,
} from "./builderModel";
import { FieldInspector } from "./FieldInspector";
import {
  FIELD_KINDS,
  FIELD_LABELS,
  centred,
  defaultSize,
  dropAt,
  minimumSize,
  moveBy,
  resizeBy,
  type FieldKind,
  type Size,
} from "./geometry";
import { PAGE_DROP_ID, PageCanvas } from "./PageCanvas";

interface Props {
  documents: BuilderDocument[];
  parties: Party[];
  fields: PlacedField[];
  onChange: (fields: PlacedField[]) => void;
  /** What a party is called in the palette: "Recipient" for envelopes, "Role" for templates. */
  partyNoun: string;
  readOnly?: boolean;
}

const INSTRUCTIONS =
  "To move a placed field, press Space, move it with the arrow keys, then press Space again to drop it or Escape to cancel. " +
  "To add a field, choose a field kind: it is placed in the middle of the page.";

/** The field editor: a palette per party, the page preview to drop fields on, and the selected field's settings. */
export function FieldBuilder({ documents, parties, fields, onChange, partyNoun, readOnly = false }: Props) {
  const [documentKey, setDocumentKey] = useState(documents[0]?.key ?? "");
  const [page, setPage] = useState(1);
  const [partyKey, setPartyKey] = useState(parties[0]?.key ?? "");
  const [selected, setSelected] = useState<string | null>(null);
  const shown = useRef<Size>({ width: 800, height: 1000 });
  const measured = useCallback((size: Size) => {
    shown.current = size;
  }, []);
  const sensors = useSensors(
    // A few pixels of movement before a drag starts, so a click still selects or adds.
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor),
  );

  const document = documents.find((candidate) => candidate.key === documentKey) ?? documents[0];
  const pageCount = document?.pageSizes.length ?? 0;
  const points = pageSize(document, page);
  const minimum = minimumSize(points);
  const party = parties.find((candidate) => candidate.key === partyKey) ?? parties[0];
  const counts = countByParty(fields);
  const chosen = fields.find((field) => field.key === selected);

  const update = (key: string, patch: Partial<PlacedField>) =>
    onChange(fields.map((field) => (field.key === key ? { ...field, ...patch } : field)));

  const add = (kind: FieldKind, box = centred(defaultSize(kind, points))) => {
    if (!document || !party) return;
    const field: PlacedField = {
      key: newFieldKey(),
      party: party.key,
      document: document.key,
      kind,
      page,
      ...box,
      required: kind !== "checkbox",
      label: "",
    };
    onChange([...fields, field]);
    setSelected(field.key);
  };

  // What a screen reader hears as a field is picked up, moved and dropped.
  const describe = (id: string | number) => {
    const [what, key] = String(id).split(":");
    if (what === "palette") return `a new ${FIELD_LABELS[key as FieldKind].toLowerCase()} field`;
    const field = fields.find((candidate) => candidate.key === key);
    const owner = parties.find((candidate) => candidate.key === field?.party)?.label ?? "nobody";
    const thing = field ? `the ${FIELD_LABELS[field.kind].toLowerCase()} field for ${owner}` : "the field";
    return what === "resize" ? `the corner of ${thing}` : thing;
  };
  const announcements: Announcements = {
    onDragStart: ({ active }) => `Picked up ${describe(active.id)}.`,
    // Every step of a move would drown the pick-up and the drop; the inspector shows where it is.
    onDragOver: () => undefined,
    onDragEnd: ({ active }) => `Dropped ${describe(active.id)}.`,
    onDragCancel: ({ active }) => `Put ${describe(active.id)} back where it was.`,
  };

  const dragEnded = ({ active, over, delta }: DragEndEvent) => {
    const [what, key] = String(active.id).split(":");
    const field = fields.find((candidate) => candidate.key === key);
    if (what === "palette") {
      const translated = active.rect.current.translated;
      if (over?.id !== PAGE_DROP_ID || !translated) return;
      const kind = key as FieldKind;
      const corner = { x: translated.left - over.rect.left, y: translated.top - over.rect.top };
      add(kind, dropAt(corner, defaultSize(kind, points), shown.current, minimum));
    } else if (what === "field" && field) {
      update(field.key, moveBy(field, delta.x, delta.y, shown.current));
    } else if (what === "resize" && field) {
      update(field.key, resizeBy(field, delta.x, delta.y, shown.current, minimum));
    }
  };

  if (!document || parties.length === 0) {
    return (
      <Text c="gray.7">
        Fields are placed once there is a document and someone who fills fields (a signer or an approver).
      </Text>
    );
  }

  return (
    <DndContext
      sensors={sensors}
      onDragEnd={dragEnded}
      accessibility={{ announcements, screenReaderInstructions: { draggable: INSTRUCTIONS } }}
    >
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 3 }}>
          <Stack gap="md">
            <Paper withBorder p="sm" component="section" aria-labelledby="builder-parties">
              <Title order={2} size="h5" id="builder-parties" mb="xs">
                {partyNoun}
              </Title>
              <Radio.Group value={party?.key ?? null} onChange={setPartyKey} aria-label={`Whose fields to add`}>
                <Stack gap={6}>
                  {parties.map((candidate) => (
                    <Radio
                      key={candidate.key}
                      value={candidate.key}
                      color={candidate.colour}
                      label={
                        <Group gap={6} wrap="nowrap" align="flex-start">
                          <span
                            aria-hidden
                            style={{ width: 12, height: 12, marginTop: 4, borderRadius: 3, background: candidate.colour, flexShrink: 0 }}
                          />
                          <span style={{ overflowWrap: "anywhere" }}>{candidate.label}</span>
                        </Group>
                      }
                      description={fieldCount(counts.get(candidate.key) ?? 0)}
                    />
                  ))}
                </Stack>
              </Radio.Group>
            </Paper>
            {!readOnly && party && (
              <Paper withBorder p="sm" component="section" aria-labelledby="builder-palette">
                <Title order={2} size="h5" id="builder-palette" mb={4}>
                  Add a field
                </Title>
                <Text size="xs" c="gray.7" mb="xs">
                  Drag one onto the page, or choose it to place it in the middle.
                </Text>
                <Stack gap={6}>
                  {FIELD_KINDS.map((kind) => (
                    <PaletteChip key={kind} kind={kind} party={party} onAdd={() => add(kind)} />
                  ))}
                </Stack>
              </Paper>
            )}
            {chosen && (
              <FieldInspector
                field={chosen}
                party={parties.find((candidate) => candidate.key === chosen.party)}
                minimum={minimum}
                readOnly={readOnly}
                onChange={(patch) => update(chosen.key, patch)}
                onDelete={() => {
                  onChange(fields.filter((field) => field.key !== chosen.key));
                  setSelected(null);
                }}
              />
            )}
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 9 }}>
          <Stack gap="sm">
            <Group justify="space-between" wrap="wrap">
              {documents.length > 1 ? (
                <Select
                  label="Document"
                  data={documents.map((candidate) => ({ value: candidate.key, label: candidate.title }))}
                  value={document.key}
                  onChange={(value) => {
                    if (value) {
                      setDocumentKey(value);
                      setPage(1);
                    }
                  }}
                  allowDeselect={false}
                  w={320}
                />
              ) : (
                <Text fw={600}>{document.title}</Text>
              )}
              <Group gap="xs" role="group" aria-label="Pages">
                <Button variant="default" size="xs" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                  Previous page
                </Button>
                <Text size="sm" aria-live="polite">
                  Page {page} of {pageCount}
                </Text>
                <Button variant="default" size="xs" disabled={page >= pageCount} onClick={() => setPage(page + 1)}>
                  Next page
                </Button>
              </Group>
            </Group>
            <PageCanvas
              document={document}
              page={page}
              pagePoints={points}
              fields={fieldsOnPage(fields, document.key, page)}
              parties={parties}
              selected={selected}
              onSelect={setSelected}
              onMeasured={measured}
              readOnly={readOnly}
            />
          </Stack>
        </Grid.Col>
      </Grid>
    </DndContext>
  );
}

/** A field kind to drag onto the page (pointer), or to choose (click, Enter) to place it in the middle. */
function PaletteChip({ kind, party, onAdd }: { kind: FieldKind; party: Party; onAdd: () => void }) {
  const { setNodeRef, listeners, transform, isDragging } = useDraggable({ id: `palette:${kind}` });
  return (
    <Button
      ref={setNodeRef}
      // The pointer drags; the keyboard clicks (the button's own Enter and Space), which adds.
      onPointerDown={(event) => (listeners?.onPointerDown as ((event: unknown) => void) | undefined)?.(event)}
      onClick={onAdd}
      variant="default"
      justify="flex-start"
      leftSection={<span aria-hidden style={{ width: 10, height: 10, borderRadius: 2, background: party.colour }} />}
      aria-label={`Add a ${FIELD_LABELS[kind].toLowerCase()} field for ${party.label}`}
      style={{
        transform: transform ? `translate(${transform.x}px, ${transform.y}px)` : undefined,
        zIndex: isDragging ? 20 : undefined,
        position: "relative",
        touchAction: "none",
        cursor: "grab",
      }}
    >
      {FIELD_LABELS[kind]}
    </Button>
  );
}

function fieldCount(count: number): string {
  return count === 1 ? "1 field" : `${count} fields`;
}
