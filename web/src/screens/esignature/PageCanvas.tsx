import { Box as Frame, Center, Text } from "@mantine/core";
import { useDraggable, useDroppable } from "@dnd-kit/core";
import { useElementSize } from "@mantine/hooks";
import { useEffect, type CSSProperties } from "react";

import type { BuilderDocument, Party, PlacedField } from "./builderModel";
import { FIELD_LABELS, shownSize, toPixels, type Size } from "./geometry";

export const PAGE_DROP_ID = "page";

// Previews are asked for at one width and scaled by the browser: one image per page, cached.
const PREVIEW_WIDTH = 1000;

interface Props {
  document: BuilderDocument;
  page: number;
  pagePoints: Size;
  fields: PlacedField[];
  parties: Party[];
  selected: string | null;
  onSelect: (key: string) => void;
  /** The preview's size on screen, for turning dragged pixels into page fractions. */
  onMeasured: (shown: Size) => void;
  readOnly: boolean;
}

/** One page of a document as a drop target, with the fields placed on it. */
export function PageCanvas({ document, page, pagePoints, fields, parties, selected, onSelect, onMeasured, readOnly }: Props) {
  const { ref, width } = useElementSize();
  const { setNodeRef, isOver } = useDroppable({ id: PAGE_DROP_ID });
  const shown = shownSize(pagePoints, width || PREVIEW_WIDTH);
  useEffect(() => {
    if (width > 0) onMeasured(shownSize(pagePoints, width));
  }, [width, pagePoints, onMeasured]);
  const url = document.pageUrl(page, PREVIEW_WIDTH);
  const partyOf = (key: string) => parties.find((party) => party.key === key);

  return (
    <Frame ref={ref} w="100%" maw={900}>
      <Frame
        ref={setNodeRef}
        pos="relative"
        w="100%"
        h={shown.height}
        bg="white"
        style={{
          outline: isOver ? "3px dashed var(--mantine-color-blue-6)" : "1px solid var(--mantine-color-gray-4)",
          boxShadow: "var(--mantine-shadow-sm)",
        }}
        data-testid="page-canvas"
      >
        {url ? (
          <img
            src={url}
            alt={`Page ${page} of ${document.title}`}
            width={shown.width}
            height={shown.height}
            draggable={false}
            style={{ display: "block", width: "100%", height: "100%", userSelect: "none" }}
          />
        ) : (
          <Center h="100%">
            <Text c="gray.7" size="sm">
              Page {page} of {document.title} (no preview)
            </Text>
          </Center>
        )}
        {fields.map((field) => (
          <PlacedFieldBox
            key={field.key}
            field={field}
            party={partyOf(field.party)}
            shown={shown}
            selected={selected === field.key}
            onSelect={() => onSelect(field.key)}
            readOnly={readOnly}
          />
        ))}
      </Frame>
    </Frame>
  );
}

interface FieldProps {
  field: PlacedField;
  party: Party | undefined;
  shown: Size;
  selected: boolean;
  onSelect: () => void;
  readOnly: boolean;
}

/** A placed field: drag it to move it (or Space, arrows, Space), drag its corner to resize it. */
function PlacedFieldBox({ field, party, shown, selected, onSelect, readOnly }: FieldProps) {
  const {
    setNodeRef: moveRef,
    attributes,
    listeners: moveListeners,
    transform: moved,
    isDragging: moving,
  } = useDraggable({ id: `field:${field.key}`, disabled: readOnly });
  const {
    setNodeRef: resizeRef,
    listeners: resizeListeners,
    transform: resized,
    isDragging: resizing,
  } = useDraggable({ id: `resize:${field.key}`, disabled: readOnly });
  const box = toPixels(field, shown);
  // While the corner is dragged the box grows with it; the drop clamps it to the page.
  const width = Math.max(box.width + (resized?.x ?? 0), 4);
  const height = Math.max(box.height + (resized?.y ?? 0), 4);
  const colour = party?.colour ?? "#495057";
  const name = `${FIELD_LABELS[field.kind]} field for ${party?.label ?? "nobody"}, page ${field.page}`;
  const style: CSSProperties = {
    position: "absolute",
    left: box.x,
    top: box.y,
    width,
    height,
    transform: moved ? `translate(${moved.x}px, ${moved.y}px)` : undefined,
    border: `2px solid ${colour}`,
    background: `${colour}26`,
    outline: selected ? `3px solid ${colour}` : undefined,
    outlineOffset: 2,
    cursor: readOnly ? "default" : "move",
    zIndex: moving || resizing ? 10 : selected ? 2 : 1,
    touchAction: "none",
  };

  return (
    <div
      ref={moveRef}
      style={style}
      {...attributes}
      {...moveListeners}
      aria-label={name}
      aria-pressed={selected}
      data-field-kind={field.kind}
      data-party={field.party}
      onClick={onSelect}
      onFocus={onSelect}
    >
      <span
        style={{
          position: "absolute",
          left: 0,
          top: 0,
          maxWidth: "100%",
          overflow: "hidden",
          whiteSpace: "nowrap",
          background: colour,
          color: "white",
          fontSize: 11,
          lineHeight: "14px",
          padding: "0 3px",
        }}
      >
        {field.label || FIELD_LABELS[field.kind]}
        {field.required ? " *" : ""}
      </span>
      {!readOnly && (
        <span
          ref={resizeRef}
          {...resizeListeners}
          aria-hidden
          data-resize-handle
          style={{
            position: "absolute",
            right: -5,
            bottom: -5,
            width: 10,
            height: 10,
            background: colour,
            border: "1px solid white",
            cursor: "nwse-resize",
            touchAction: "none",
          }}
        />
      )}
    </div>
  );
}
