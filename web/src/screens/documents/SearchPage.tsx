import { Anchor, Group, Paper, Select, Stack, Text, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { useState } from "react";

import { DocumentBadges } from "./badges";
import { Highlighted } from "./Highlighted";
import { keys } from "./queries";
import { DOCUMENT_STATUSES, STATUS_LABELS, isStatus, typeLabel, type DocumentSearch } from "./search";
import type { SearchHit } from "./types";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { AnchorLink } from "@/components/AnchorLink";
import { ClientPicker } from "@/components/ClientPicker";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const route = getRouteApi("/app/documents/search");

export function SearchPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const change = (patch: Partial<DocumentSearch>) =>
    void navigate({ search: (previous) => ({ ...previous, ...patch }), replace: true });

  const results = useInfiniteQuery({
    queryKey: [...keys.search, search],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/document-search", {
          params: {
            query: {
              q: search.q ?? "",
              client_id: search.client_id,
              document_type: search.document_type,
              tag: search.tag,
              status: search.status,
              cursor: pageParam,
            },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
    enabled: Boolean(search.q),
  });
  const hits = allItems(results.data?.pages);

  return (
    <>
      <Anchor component={Link} to="/documents" size="sm">
        ← Documents
      </Anchor>
      <PageHeader
        title="Search documents"
        description="Searches titles, tags and the text of PDF, Word and text files; the best matches first."
      />
      <SearchForm search={search} onChange={change} />
      <ProblemAlert error={results.error} />
      {!search.q ? (
        <EmptyState title="Type the words to find">
          Every word must appear; put a phrase in quotes, or exclude a word with a minus sign.
        </EmptyState>
      ) : results.isSuccess && hits.length === 0 ? (
        <EmptyState title="No document matches">
          Try fewer or other words, or fewer filters. A scanned PDF has no text to search until it is uploaded with its
          text.
        </EmptyState>
      ) : (
        <Stack gap="sm" component="ol" p={0} m={0} style={{ listStyle: "none" }} aria-label="Search results">
          {hits.map((hit) => (
            <Result key={hit.id} hit={hit} />
          ))}
        </Stack>
      )}
      <LoadMore {...results} />
    </>
  );
}

function SearchForm({ search, onChange }: { search: DocumentSearch; onChange: (patch: Partial<DocumentSearch>) => void }) {
  const [words, setWords] = useState(search.q ?? "");
  const [type, setType] = useState(search.document_type ?? "");
  const [tag, setTag] = useState(search.tag ?? "");
  const later = useDebouncedCallback((patch: Partial<DocumentSearch>) => onChange(patch), 300);
  return (
    <Paper withBorder p="sm" mb="md" role="search">
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label="Words"
          type="search"
          placeholder="e.g. engagement letter 2025"
          value={words}
          onChange={(event) => {
            setWords(event.currentTarget.value);
            later({ q: event.currentTarget.value.trim() || undefined });
          }}
          w={320}
          data-autofocus
        />
        <ClientPicker
          label="Client"
          value={search.client_id ?? null}
          onChange={(clientId) => onChange({ client_id: clientId ?? undefined })}
          clearable
          w={220}
        />
        <TextInput
          label="Type"
          value={type}
          onChange={(event) => {
            setType(event.currentTarget.value);
            later({ document_type: event.currentTarget.value.trim() || undefined });
          }}
          w={150}
        />
        <TextInput
          label="Tag"
          value={tag}
          onChange={(event) => {
            setTag(event.currentTarget.value);
            later({ tag: event.currentTarget.value.trim() || undefined });
          }}
          w={140}
        />
        <Select
          label="Status"
          placeholder="Any status"
          data={DOCUMENT_STATUSES.map((status) => ({ value: status, label: STATUS_LABELS[status] }))}
          value={search.status ?? null}
          onChange={(value) => onChange({ status: isStatus(value) ? value : undefined })}
          clearable
          w={150}
        />
      </Group>
    </Paper>
  );
}

function Result({ hit }: { hit: SearchHit }) {
  const { firm } = useMe();
  return (
    <Paper withBorder p="sm" component="li" data-result={hit.id}>
      <Stack gap={4}>
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          <AnchorLink to="/documents/$documentId" params={{ documentId: hit.id }} fw={600}>
            <Highlighted snippet={hit.highlights.title || hit.title} />
          </AnchorLink>
          <DocumentBadges status={hit.status} legalHold={false} />
        </Group>
        {hit.highlights.body && (
          <Text size="sm" data-testid="snippet">
            … <Highlighted snippet={hit.highlights.body} /> …
          </Text>
        )}
        <Text size="xs" c="gray.7">
          {typeLabel(hit.document_type)}
          {hit.tags.length > 0 && ` · ${hit.tags.join(", ")}`} · updated {formatDateTime(hit.updated_at, firm.time_zone)}
        </Text>
      </Stack>
    </Paper>
  );
}
