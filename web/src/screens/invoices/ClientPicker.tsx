import { Select } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import { clientQuery } from "./queries";

interface Props {
  label: string;
  value: string | null;
  onChange: (clientId: string | null) => void;
  error?: string | undefined;
  required?: boolean;
  clearable?: boolean;
  placeholder?: string;
}

/** Chooses one of the firm's clients, searching them by name or email as one types. */
export function ClientPicker({ label, value, onChange, error, required, clearable, placeholder }: Props) {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const found = useQuery({
    queryKey: ["clients", "search", debounced],
    queryFn: async () =>
      data(
        await api.GET("/v1/clients", {
          params: { query: { q: debounced === "" ? undefined : debounced, limit: 20 } },
        }),
      ).items,
  });
  const chosen = useQuery({ ...clientQuery(value ?? ""), enabled: value !== null });

  const options = new Map<string, string>();
  if (chosen.data) options.set(chosen.data.id, chosen.data.name);
  for (const client of found.data ?? []) options.set(client.id, client.name);

  return (
    <Select
      label={label}
      placeholder={placeholder ?? "Type a name or an email"}
      searchable
      required={required}
      clearable={clearable}
      value={value}
      onChange={onChange}
      searchValue={search}
      onSearchChange={setSearch}
      // The API has already searched; the list shows what it answered.
      filter={({ options: all }) => all}
      data={[...options].map(([id, name]) => ({ value: id, label: name }))}
      nothingFoundMessage={found.isFetching ? "Searching…" : "No client matches; add it under Clients"}
      error={error}
    />
  );
}
