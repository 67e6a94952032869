import { Group, SegmentedControl, Select } from "@mantine/core";
import { DateInput } from "@mantine/dates";

import { ClientPicker } from "@/components/ClientPicker";
import { parseTaskSearch, type TaskSearch } from "./taskSearch";

const STATUSES = [
  { value: "open", label: "Open" },
  { value: "done", label: "Done" },
  { value: "any", label: "Open and done" },
];

interface Props {
  search: TaskSearch;
  onChange: (search: TaskSearch) => void;
}

/** Whose tasks, which status, due when, for which client: each kept in the address. */
export function TaskFilters({ search, onChange }: Props) {
  // Unset filters leave the address rather than showing up as empty parameters.
  const set = (patch: Partial<TaskSearch>) => onChange(parseTaskSearch({ ...search, ...patch }));

  return (
    <Group align="flex-end" gap="sm" wrap="wrap">
      <SegmentedControl
        aria-label="Whose tasks"
        value={search.view ?? "mine"}
        onChange={(view) => set({ view: view === "all" ? "all" : undefined })}
        data={[
          { value: "mine", label: "My tasks" },
          { value: "all", label: "All tasks" },
        ]}
      />
      <Select
        label="Status"
        data={STATUSES}
        value={search.status ?? "open"}
        allowDeselect={false}
        onChange={(status) =>
          set({ status: status === "done" || status === "any" ? status : undefined })
        }
        w={160}
      />
      <DateInput
        label="Due from"
        placeholder="Any day"
        valueFormat="D MMM YYYY"
        clearable
        value={search.due_after ?? null}
        onChange={(date) => set({ due_after: date ?? undefined })}
        w={160}
      />
      <DateInput
        label="Due until"
        placeholder="Any day"
        valueFormat="D MMM YYYY"
        clearable
        value={search.due_before ?? null}
        onChange={(date) => set({ due_before: date ?? undefined })}
        w={160}
      />
      <ClientPicker
        label="Client"
        placeholder="Any client"
        clearable
        value={search.client ?? null}
        onChange={(client) => set({ client: client ?? undefined })}
        w={240}
      />
    </Group>
  );
}
