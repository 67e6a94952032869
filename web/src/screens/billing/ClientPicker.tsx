import { Select } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";

interface Props {
  value: string;
  onChange: (clientId: string) => void;
  error?: React.ReactNode;
  required?: boolean;
}

/** The client an invoice is for, found by typing part of its name or email. */
export function ClientPicker({ value, onChange, error, required }: Props) {
  const [search, setSearch] = useState("");
  const [query] = useDebouncedValue(search, 250);
  const found = useQuery({
    queryKey: ["clients", "picker", query],
    queryFn: async () => data(await api.GET("/v1/clients", { params: { query: { q: query || undefined, limit: 20 } } })),
    placeholderData: keepPreviousData,
  });
  // The chosen client stays a choice even when the search no longer finds it.
  const chosen = useQuery({
    queryKey: ["clients", value],
    queryFn: async () => data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: value } } })),
    enabled: value !== "",
  });
  const options = new Map<string, string>();
  if (chosen.data) options.set(chosen.data.id, chosen.data.name);
  for (const client of found.data?.items ?? []) options.set(client.id, client.name);

  return (
    <Select
      label="Client"
      placeholder="Type to search clients"
      searchable
      required={required}
      searchValue={search}
      onSearchChange={setSearch}
      data={[...options].map(([id, name]) => ({ value: id, label: name }))}
      value={value || null}
      onChange={(id) => onChange(id ?? "")}
      nothingFoundMessage={found.isFetching ? "Searching…" : "No client matches; add it on the Clients page"}
      filter={({ options: all }) => all}
      error={error}
    />
  );
}
