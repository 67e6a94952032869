import { Checkbox, Code, Group, MultiSelect, NumberInput, Radio, Select, Stack, Text, TextInput } from "@mantine/core";

import {
  describeRule,
  FREQUENCIES,
  MAX_INTERVAL,
  monthDayName,
  toRuleText,
  WEEKDAY_NAMES,
  WEEKDAYS,
  type Frequency,
  type RuleEnd,
  type RuleState,
  type Weekday,
} from "./rrule";

const FREQUENCY_LABELS: Record<Frequency, string> = {
  DAILY: "Daily",
  WEEKLY: "Weekly",
  MONTHLY: "Monthly",
  YEARLY: "Yearly",
};

const UNITS: Record<Frequency, string> = { DAILY: "days", WEEKLY: "weeks", MONTHLY: "months", YEARLY: "years" };

const MONTH_DAYS = [
  ...Array.from({ length: 31 }, (_, index) => ({ value: String(index + 1), label: monthDayName(index + 1).slice(4) })),
  { value: "-1", label: "Last day of the month" },
];

export interface ScheduleErrors {
  rrule?: string;
  count?: string;
  ends_on?: string;
}

interface Props {
  value: RuleState;
  onChange: (next: RuleState) => void;
  /** The API's errors about the schedule, shown where the member can fix them. */
  errors: ScheduleErrors;
}

/** Builds the recurrence a member can say in words; shows the RRULE it makes. */
export function RruleBuilder({ value, onChange, errors }: Props) {
  const set = (changes: Partial<RuleState>) => onChange({ ...value, ...changes });
  const setEnd = (end: RuleEnd) => set({ end });

  return (
    <Stack gap="sm">
      <Group align="flex-start">
        <Select
          label="Repeats"
          data={FREQUENCIES.map((frequency) => ({ value: frequency, label: FREQUENCY_LABELS[frequency] }))}
          value={value.frequency}
          onChange={(frequency) => {
            if (frequency) set({ frequency: frequency as Frequency, interval: Math.min(value.interval, MAX_INTERVAL[frequency as Frequency]) });
          }}
          allowDeselect={false}
          w={160}
        />
        <NumberInput
          label={`Every how many ${UNITS[value.frequency]}`}
          min={1}
          max={MAX_INTERVAL[value.frequency]}
          value={value.interval}
          onChange={(interval) => set({ interval: typeof interval === "number" && interval >= 1 ? interval : 1 })}
          allowDecimal={false}
          w={200}
        />
      </Group>

      {value.frequency === "WEEKLY" && (
        <Checkbox.Group
          label="On these weekdays"
          description="None chosen: the weekday of the first invoice"
          value={value.byWeekday}
          onChange={(days) => set({ byWeekday: WEEKDAYS.filter((day) => days.includes(day)) })}
        >
          <Group mt="xs">
            {WEEKDAYS.map((day: Weekday) => (
              <Checkbox key={day} value={day} label={WEEKDAY_NAMES[day]} />
            ))}
          </Group>
        </Checkbox.Group>
      )}

      {value.frequency === "MONTHLY" && (
        <MultiSelect
          label="On these days of the month"
          description="None chosen: the day of the month of the first invoice. A month without the day is skipped."
          data={MONTH_DAYS}
          value={value.byMonthDay.map(String)}
          onChange={(days) => set({ byMonthDay: days.map(Number) })}
          maw={480}
        />
      )}

      <Radio.Group
        label="Ends"
        value={value.end.kind}
        onChange={(kind) => {
          if (kind === "never") setEnd({ kind: "never" });
          if (kind === "count") setEnd({ kind: "count", count: 12 });
          if (kind === "until") setEnd({ kind: "until", until: "" });
        }}
      >
        <Group mt="xs">
          <Radio value="never" label="Never" />
          <Radio value="count" label="After a number of invoices" />
          <Radio value="until" label="On a date" />
        </Group>
      </Radio.Group>
      {value.end.kind === "count" && (
        <NumberInput
          label="Number of invoices"
          min={1}
          max={10000}
          allowDecimal={false}
          value={value.end.count}
          onChange={(count) => setEnd({ kind: "count", count: typeof count === "number" ? count : 1 })}
          error={errors.count}
          w={200}
        />
      )}
      {value.end.kind === "until" && (
        <TextInput
          type="date"
          label="Last possible date"
          value={value.end.until}
          onChange={(event) => setEnd({ kind: "until", until: event.currentTarget.value })}
          error={errors.ends_on}
          w={200}
        />
      )}

      <Stack gap={4} aria-live="polite">
        <Text size="sm">{describeRule(value)}</Text>
        <Text size="sm" c="gray.7">
          Rule: <Code data-testid="rrule-text">{toRuleText(value)}</Code>
        </Text>
        {errors.rrule && (
          <Text size="sm" c="red.8" role="alert">
            {errors.rrule}
          </Text>
        )}
      </Stack>
    </Stack>
  );
}
