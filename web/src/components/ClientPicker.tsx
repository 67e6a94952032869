import { Select, type SelectProps } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";

const SUGGESTIONS = 20;

interface Props extends Omit<SelectProps, "data" | "value" | "onChange" | "searchable" | "filter"> {
  value: string | null;
  onChange: (clientId: string | null) => void;
}

/** One of the firm's clients, found by typing part of its name or email: the API searches, so any firm size works. */
export function ClientPicker({ value, onChange, placeholder, ...select }: Props) {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const found = useQuery({
    queryKey: ["clients", "picker", debounced],
    queryFn: async () =>
      data(await api.GET("/v1/clients", { params: { query: { q: debounced || undefined, limit: SUGGESTIONS } } }))
        .items,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  // The chosen client stays a choice even when the search no longer finds it.
  const chosen = useQuery({
    queryKey: ["clients", "one", value],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: value ?? "" } } })),
    enabled: value !== null,
    staleTime: 60_000,
  });

  const options = new Map<string, string>();
  if (chosen.data) options.set(chosen.data.id, chosen.data.name);
  for (const client of found.data ?? []) options.set(client.id, client.name);

  return (
    <Select
      {...select}
      placeholder={placeholder ?? "Type a name or an email"}
      searchable
      value={value}
      onChange={onChange}
      searchValue={search}
      onSearchChange={setSearch}
      // The API has already searched; the list shows what it answered.
      filter={({ options: all }) => all}
      data={[...options].map(([id, name]) => ({ value: id, label: name }))}
      nothingFoundMessage={found.isFetching ? "Searching…" : "No client matches; add it under Clients"}
    />
  );
}
