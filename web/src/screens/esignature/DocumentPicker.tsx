import { ActionIcon, Button, Group, List, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { IconArrowDown, IconArrowUp, IconX } from "@tabler/icons-react";
import { useState } from "react";

import { moveItem } from "./recipients";
import { api, data } from "@/api/client";
import { ProblemAlert } from "@/components/ProblemAlert";

const PDF = "application/pdf";
const SUGGESTIONS = 20;

export interface PickedDocument {
  id: string;
  title: string;
}

interface Props {
  value: PickedDocument[];
  onChange: (documents: PickedDocument[]) => void;
}

/** Library documents whose current version is a PDF, found by title; the chosen ones in reading order. */
export function DocumentPicker({ value, onChange }: Props) {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const found = useQuery({
    queryKey: ["envelopes", "document-picker", debounced],
    queryFn: () => pdfDocuments(debounced),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const chosen = new Set(value.map((document) => document.id));
  const offers = (found.data ?? []).filter((document) => !chosen.has(document.id));

  return (
    <Paper withBorder p="sm" component="section" aria-labelledby="envelope-documents">
      <Title order={2} size="h4" id="envelope-documents" mb="xs">
        Documents
      </Title>
      {value.length === 0 ? (
        <Text size="sm" c="gray.7" mb="xs">
          Choose at least one PDF below; recipients read them in this order.
        </Text>
      ) : (
        <List type="ordered" spacing={4} mb="sm" aria-label="Chosen documents">
          {value.map((document, index) => (
            <List.Item key={document.id}>
              <Group gap={4} wrap="nowrap">
                <Text size="sm">{document.title}</Text>
                <ActionIcon
                  variant="subtle"
                  aria-label={`Move ${document.title} up`}
                  disabled={index === 0}
                  onClick={() => onChange(moveItem(value, index, -1))}
                >
                  <IconArrowUp size={16} />
                </ActionIcon>
                <ActionIcon
                  variant="subtle"
                  aria-label={`Move ${document.title} down`}
                  disabled={index === value.length - 1}
                  onClick={() => onChange(moveItem(value, index, 1))}
                >
                  <IconArrowDown size={16} />
                </ActionIcon>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`Remove ${document.title}`}
                  onClick={() => onChange(value.filter((other) => other.id !== document.id))}
                >
                  <IconX size={16} />
                </ActionIcon>
              </Group>
            </List.Item>
          ))}
        </List>
      )}
      <Stack gap="xs">
        <TextInput
          label="Find a PDF"
          placeholder="Part of its title"
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
        />
        <ProblemAlert error={found.error} />
        {found.isSuccess && offers.length === 0 ? (
          <Text size="sm" c="gray.7">
            {debounced ? "No other PDF matches." : "No other PDF in the documents; upload one under Documents."}
          </Text>
        ) : (
          <Group gap="xs">
            {offers.map((document) => (
              <Button
                key={document.id}
                size="xs"
                variant="default"
                aria-label={`Add ${document.title}`}
                onClick={() => onChange([...value, document])}
              >
                + {document.title}
              </Button>
            ))}
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

/** The newest PDFs, or those whose title or text matches ``q`` (the search endpoint), at most a page. */
async function pdfDocuments(q: string): Promise<PickedDocument[]> {
  if (q) {
    const page = data(await api.GET("/v1/document-search", { params: { query: { q, limit: SUGGESTIONS } } }));
    return page.items.filter((hit) => hit.version.content_type === PDF).map(({ id, title }) => ({ id, title }));
  }
  const page = data(await api.GET("/v1/documents", { params: { query: { limit: 100 } } }));
  return page.items
    .filter((document) => document.current_version?.content_type === PDF)
    .slice(0, SUGGESTIONS)
    .map(({ id, title }) => ({ id, title }));
}
