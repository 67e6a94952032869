import { Select, type SelectProps } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { clientQuery } from "./lookups";
import { api, data } from "@/api/client";

const SUGGESTIONS = 20;

interface Props extends Omit<SelectProps, "data" | "value" | "onChange" | "searchable"> {
  value: string | null;
  onChange: (clientId: string | null) => void;
}

/** A client chosen by typing part of its name: the API searches, so any firm size works. */
export function ClientPicker({ value, onChange, ...select }: Props) {
  const [search, setSearch] = useState("");
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const found = useQuery({
    queryKey: ["clients", "picker", debounced],
    queryFn: async () =>
      data(
        await api.GET("/v1/clients", {
          params: { query: { q: debounced || undefined, limit: SUGGESTIONS } },
        }),
      ),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const chosen = useQuery({ ...clientQuery(value ?? ""), enabled: value !== null });

  const options = (found.data?.items ?? []).map((client) => ({ value: client.id, label: client.name }));
  if (chosen.data && !options.some((option) => option.value === chosen.data.id)) {
    options.unshift({ value: chosen.data.id, label: chosen.data.name });
  }

  return (
    <Select
      {...select}
      searchable
      clearable
      data={options}
      value={value}
      onChange={onChange}
      searchValue={search}
      onSearchChange={setSearch}
      // The API has already filtered by what was typed.
      filter={({ options: all }) => all}
      nothingFoundMessage={found.isFetching ? "Searching…" : "No client matches"}
    />
  );
}
