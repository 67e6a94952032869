import { Box, Card, Loader, Stack, Text, Title } from "@mantine/core";
import { useElementSize, useInViewport, useMergedRef } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import { fieldFontPx, fieldsOnPage, overlayBox, pageAspect, previewWidth, type FieldValues } from "./fields";
import { SCRIPT_FONT } from "./SignatureDialog";
import { signingApi } from "./signingApi";
import type { Adopted, SigningDocument, SigningField } from "./types";
import { ProblemAlert } from "@/components/ProblemAlert";

export interface FieldsState {
  values: FieldValues;
  errors: Record<string, string>;
  signature: Adopted | undefined;
  initials: Adopted | undefined;
  onChange: (fieldId: string, value: string) => void;
  onAdopt: (mark: "signature" | "initials") => void;
}

interface Props {
  recipientId: string;
  token: string;
  documents: SigningDocument[];
  fields: SigningField[];
  state: FieldsState;
}

/** Every page of every document, this recipient's fields over them where they were placed. */
export function DocumentPages({ recipientId, token, documents, fields, state }: Props) {
  return (
    <Stack gap="xl">
      {documents.map((document) => (
        <Stack key={document.id} gap="sm" component="section" aria-label={document.title}>
          <Title order={2} size="h4">
            {document.title}
          </Title>
          {Array.from({ length: document.page_count }, (_, index) => (
            <PageView
              key={index}
              recipientId={recipientId}
              token={token}
              document={document}
              page={index + 1}
              fields={fieldsOnPage(fields, document.id, index + 1)}
              state={state}
            />
          ))}
        </Stack>
      ))}
    </Stack>
  );
}

interface PageProps {
  recipientId: string;
  token: string;
  document: SigningDocument;
  page: number;
  fields: SigningField[];
  state: FieldsState;
}

function PageView({ recipientId, token, document, page, fields, state }: PageProps) {
  const { ref: sizeRef, width } = useElementSize();
  const { ref: viewRef, inViewport } = useInViewport();
  const ref = useMergedRef(sizeRef, viewRef);
  // A page is fetched once it first scrolls into view, and kept.
  const [seen, setSeen] = useState(false);
  if (inViewport && !seen) setSeen(true);
  const aspect = pageAspect(document.page_sizes[page - 1]);
  const requestWidth = width > 0 ? previewWidth(width, window.devicePixelRatio) : 0;
  const image = useQuery({
    queryKey: ["signing-page", recipientId, document.id, page, requestWidth],
    enabled: seen && requestWidth > 0,
    staleTime: Infinity,
    retry: false,
    placeholderData: keepPreviousData,
    queryFn: () => signingApi.pageImage(recipientId, token, document.id, page, requestWidth),
  });
  const label = `Page ${page} of ${document.page_count} of ${document.title}`;

  return (
    <Card withBorder padding={0} radius="xs" shadow="xs">
      <Box
        ref={ref}
        data-testid={`page-${document.id}-${page}`}
        pos="relative"
        style={{ width: "100%", aspectRatio: String(aspect), background: "white", overflow: "visible" }}
      >
        {image.data ? (
          <BlobImage blob={image.data} alt={label} />
        ) : image.error ? (
          <Box p="md">
            <ProblemAlert error={image.error} />
          </Box>
        ) : (
          <Stack align="center" justify="center" h="100%" aria-busy="true">
            <Loader size="sm" aria-hidden="true" />
            <Text size="sm" c="gray.7">
              Loading page {page}…
            </Text>
          </Stack>
        )}
        {fields.map((field) => (
          <FieldOverlay key={field.id} field={field} fontPx={fieldFontPx(field, width, aspect)} state={state} />
        ))}
      </Box>
    </Card>
  );
}

/** A fetched image, shown through an object URL released when the image changes. */
function BlobImage({ blob, alt }: { blob: Blob; alt: string }) {
  const image = useRef<HTMLImageElement>(null);
  useEffect(() => {
    if (!image.current) return;
    const url = URL.createObjectURL(blob);
    image.current.src = url;
    return () => URL.revokeObjectURL(url);
  }, [blob]);
  return <img ref={image} alt={alt} style={{ width: "100%", height: "100%", display: "block" }} />;
}

const BOX_STYLE = {
  position: "absolute",
  boxSizing: "border-box",
  border: "2px solid var(--mantine-color-indigo-6)",
  borderRadius: 3,
  background: "rgba(255, 249, 219, 0.92)",
  color: "var(--mantine-color-dark-9)",
} as const;

function fieldName(field: SigningField): string {
  const base =
    field.label ||
    { signature: "Signature", initials: "Initials", date_signed: "Date signed", text: "Text", checkbox: "Checkbox" }[field.kind];
  return field.required ? `${base} (required)` : base;
}

function FieldOverlay({ field, fontPx, state }: { field: SigningField; fontPx: number; state: FieldsState }) {
  const error = state.errors[field.id];
  const errorId = `field-${field.id}-error`;
  const box = { ...BOX_STYLE, ...overlayBox(field), ...(error ? { borderColor: "var(--mantine-color-red-7)" } : {}) };
  const common = { id: `field-${field.id}`, "aria-invalid": error ? true : undefined, "aria-describedby": error ? errorId : undefined };

  let control: React.ReactNode;
  switch (field.kind) {
    case "text":
      control = (
        <input
          {...common}
          aria-label={fieldName(field)}
          value={state.values[field.id] ?? ""}
          onChange={(event) => state.onChange(field.id, event.currentTarget.value)}
          style={{ ...box, padding: "0 4px", fontSize: fontPx }}
        />
      );
      break;
    case "checkbox":
      control = (
        <Box style={{ ...box, display: "flex", alignItems: "center", justifyContent: "center" }}>
          <input
            {...common}
            type="checkbox"
            aria-label={fieldName(field)}
            checked={state.values[field.id] === "true"}
            onChange={(event) => state.onChange(field.id, event.currentTarget.checked ? "true" : "false")}
            style={{ width: "80%", height: "80%", margin: 0 }}
          />
        </Box>
      );
      break;
    case "date_signed":
      control = (
        <Box {...common} style={{ ...box, display: "flex", alignItems: "center", padding: "0 4px", fontSize: fontPx }}>
          <span aria-label={`${fieldName(field)}: filled in when you sign`}>{new Date().toLocaleDateString()}</span>
        </Box>
      );
      break;
    case "signature":
    case "initials": {
      const adopted = field.kind === "signature" ? state.signature : state.initials;
      control = (
        <button
          {...common}
          type="button"
          aria-label={`${fieldName(field)}: ${adopted ? "change" : "add"} your ${field.kind === "signature" ? "signature" : "initials"}`}
          onClick={() => state.onAdopt(field.kind === "signature" ? "signature" : "initials")}
          style={{ ...box, cursor: "pointer", padding: 2, overflow: "hidden", fontSize: fontPx }}
        >
          {adopted ? <AdoptedMark adopted={adopted} fontPx={fontPx * 1.4} /> : field.kind === "signature" ? "Sign here" : "Initial here"}
        </button>
      );
      break;
    }
  }

  return (
    <>
      {control}
      {error && (
        <Text
          id={errorId}
          size="xs"
          c="red.8"
          bg="white"
          px={4}
          style={{ position: "absolute", left: box.left, top: `calc(${box.top} + ${box.height})`, zIndex: 1 }}
        >
          {error}
        </Text>
      )}
    </>
  );
}

/** An adopted signature or initials as they will appear: the typed name in script, or the drawing. */
export function AdoptedMark({ adopted, fontPx }: { adopted: Adopted; fontPx: number }) {
  if (adopted.kind === "drawn") {
    return (
      <img
        src={`data:image/png;base64,${adopted.image_png_base64}`}
        alt="Your drawn signature"
        style={{ maxWidth: "100%", maxHeight: "100%", objectFit: "contain" }}
      />
    );
  }
  return <span style={{ fontFamily: SCRIPT_FONT, fontSize: fontPx, lineHeight: 1, whiteSpace: "nowrap" }}>{adopted.text}</span>;
}
