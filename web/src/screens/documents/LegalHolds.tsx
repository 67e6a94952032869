import { Button, Group, Paper, SegmentedControl, Select, Stack, Switch, Table, Text, Textarea, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { documentQuery, keys, usersQuery } from "./queries";
import type { LegalHoldRead } from "./types";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { AnchorLink } from "@/components/AnchorLink";
import { ClientPicker } from "@/components/ClientPicker";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

export function LegalHolds({ manager }: { manager: boolean }) {
  const [released, setReleased] = useState(false);
  const holds = useInfiniteQuery({
    queryKey: [...keys.holds, { released }],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/legal-holds", { params: { query: { active: !released, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });
  const items = allItems(holds.data?.pages);

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="legal-holds">
      <Title order={2} size="h4" id="legal-holds" mb="xs">
        Legal holds
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        A hold on a document, or on every document of a client, refuses every deletion — by a person or by a retention
        policy — until it is released.
      </Text>
      <Stack gap="md">
        {manager && <PlaceHold />}
        <Switch label="Show released holds" checked={released} onChange={(event) => setReleased(event.currentTarget.checked)} />
        <ProblemAlert error={holds.error} />
        {holds.isSuccess && items.length === 0 ? (
          <EmptyState title={released ? "No hold was released yet" : "No hold in place"}>
            {released
              ? "Released holds stay listed here, for the record."
              : manager
                ? "Place one above when a matter must be preserved."
                : "An owner or an admin places one when a matter must be preserved."}
          </EmptyState>
        ) : (
          <HoldsTable holds={items} manager={manager} />
        )}
        <LoadMore {...holds} />
      </Stack>
    </Paper>
  );
}

function HoldsTable({ holds, manager }: { holds: LegalHoldRead[]; manager: boolean }) {
  const { firm } = useMe();
  const users = useQuery(usersQuery);
  const nameOf = (userId: string | null | undefined) =>
    (userId && users.data?.find((user) => user.id === userId)?.name) ?? "—";
  return (
    <Table.ScrollContainer minWidth={700}>
      <Table striped aria-label="Legal holds">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>On</Table.Th>
            <Table.Th>Reason</Table.Th>
            <Table.Th>Placed</Table.Th>
            <Table.Th>Released</Table.Th>
            {manager && <Table.Th>Actions</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {holds.map((hold) => (
            <Table.Tr key={hold.id}>
              <Table.Td>
                <HoldSubject hold={hold} />
              </Table.Td>
              <Table.Td>{hold.reason}</Table.Td>
              <Table.Td>
                {formatDateTime(hold.created_at, firm.time_zone)}
                <Text size="xs" c="gray.7">
                  by {nameOf(hold.placed_by)}
                </Text>
              </Table.Td>
              <Table.Td>
                {hold.released_at ? (
                  <>
                    {formatDateTime(hold.released_at, firm.time_zone)}
                    <Text size="xs" c="gray.7">
                      by {nameOf(hold.released_by)}
                    </Text>
                  </>
                ) : (
                  "—"
                )}
              </Table.Td>
              {manager && <Table.Td>{!hold.released_at && <ReleaseHold hold={hold} />}</Table.Td>}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function HoldSubject({ hold }: { hold: LegalHoldRead }) {
  const document = useQuery({ ...documentQuery(hold.document_id ?? ""), enabled: Boolean(hold.document_id) });
  const client = useQuery({
    queryKey: ["clients", "one", hold.client_id],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: hold.client_id ?? "" } } })),
    enabled: Boolean(hold.client_id),
  });
  if (hold.document_id) {
    return (
      <AnchorLink to="/documents/$documentId" params={{ documentId: hold.document_id }}>
        {document.data?.title ?? "The document"}
      </AnchorLink>
    );
  }
  if (hold.client_id) {
    return (
      <>
        Every document of{" "}
        <AnchorLink to="/clients/$clientId" params={{ clientId: hold.client_id }}>
          {client.data?.name ?? "the client"}
        </AnchorLink>
      </>
    );
  }
  return null;
}

function ReleaseHold({ hold }: { hold: LegalHoldRead }) {
  const queryClient = useQueryClient();
  return (
    <ConfirmAction
      size="xs"
      label="Release"
      aria-label="Release this hold"
      title="Release this legal hold?"
      consequence="Its documents can be deleted again, by people and by retention policies (unless another hold covers them). The hold stays listed as released."
      onConfirm={async () => {
        data(await api.POST("/v1/legal-holds/{hold_id}/release", { params: { path: { hold_id: hold.id } } }));
        notifications.show({ message: "The hold is released." });
        await queryClient.invalidateQueries({ queryKey: keys.holds });
        await queryClient.invalidateQueries({ queryKey: keys.all });
        await queryClient.invalidateQueries({ queryKey: keys.preview });
      }}
    />
  );
}

interface HoldValues extends Record<string, unknown> {
  subject: "document" | "client";
  document_id: string | null;
  client_id: string | null;
  reason: string;
}

/** A hold on one document or on a client; ``documentId`` fixes the document (the document page's). */
export function PlaceHold({ documentId, onPlaced }: { documentId?: string; onPlaced?: () => void }) {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<HoldValues>({
    initialValues: { subject: "document", document_id: documentId ?? null, client_id: null, reason: "" },
  });
  const subject = form.getValues().subject;
  const place = submit(async (values) => {
    data(
      await api.POST("/v1/legal-holds", {
        body:
          values.subject === "document"
            ? { document_id: values.document_id, reason: values.reason.trim() }
            : { client_id: values.client_id, reason: values.reason.trim() },
      }),
    );
    notifications.show({ message: "The legal hold is in place.", color: "green" });
    form.reset();
    await queryClient.invalidateQueries({ queryKey: keys.holds });
    await queryClient.invalidateQueries({ queryKey: keys.all });
    await queryClient.invalidateQueries({ queryKey: keys.preview });
    onPlaced?.();
  });

  return (
    <form onSubmit={place} noValidate aria-label="Place a legal hold">
      <Stack gap="sm">
        {!documentId && (
          <Group align="flex-end">
            <SegmentedControl
              aria-label="Hold what"
              data={[
                { value: "document", label: "One document" },
                { value: "client", label: "A client's documents" },
              ]}
              {...form.getInputProps("subject")}
              key={form.key("subject")}
            />
            {subject === "document" ? (
              <DocumentPicker
                value={form.getValues().document_id}
                onChange={(value) => form.setFieldValue("document_id", value)}
                error={form.errors.document_id}
              />
            ) : (
              <ClientPicker
                label="Client"
                value={form.getValues().client_id}
                onChange={(value) => form.setFieldValue("client_id", value)}
                error={form.errors.client_id}
                w={280}
              />
            )}
          </Group>
        )}
        <Textarea
          label="Reason"
          description="The matter or request the documents are preserved for"
          required
          autosize
          minRows={2}
          {...form.getInputProps("reason")}
          key={form.key("reason")}
        />
        <ProblemAlert error={error} unplaced={unplaced} />
        <Group>
          <Button type="submit" loading={submitting}>
            Place legal hold
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** A document found by the words of its title or text, through the search API. */
function DocumentPicker({
  value,
  onChange,
  error,
}: {
  value: string | null;
  onChange: (documentId: string | null) => void;
  error?: React.ReactNode;
}) {
  const [words, setWords] = useState("");
  const [debounced] = useDebouncedValue(words.trim(), 250);
  const found = useQuery({
    queryKey: [...keys.search, "picker", debounced],
    queryFn: async () =>
      data(await api.GET("/v1/document-search", { params: { query: { q: debounced, limit: 20 } } })).items,
    enabled: debounced.length > 0,
    placeholderData: keepPreviousData,
  });
  const chosen = useQuery({ ...documentQuery(value ?? ""), enabled: value !== null });
  const options = new Map<string, string>();
  if (chosen.data) options.set(chosen.data.id, chosen.data.title);
  for (const hit of found.data ?? []) options.set(hit.id, hit.title);
  return (
    <Select
      label="Document"
      placeholder="Type words of its title"
      searchable
      clearable
      value={value}
      onChange={onChange}
      searchValue={words}
      onSearchChange={setWords}
      filter={({ options: all }) => all}
      data={[...options].map(([id, title]) => ({ value: id, label: title }))}
      nothingFoundMessage={debounced ? "No document matches" : "Type to search"}
      error={error}
      w={320}
    />
  );
}
