import { Badge, Button, Group, Text, Timeline, Title } from "@mantine/core";
import { IconCircleCheck, IconClock, IconPlayerPause } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";
import { invoiceKey, type Invoice } from "./queries";

const STEP_NAMES: Record<string, string> = {
  invoice: "Invoice email",
  "due-soon": "Due soon reminder",
  "due-today": "Due today reminder",
  "final-notice": "Final notice",
  escalation: "Escalation to collections",
};

const OUTCOMES: Record<string, string> = {
  sent: "sent",
  escalated: "escalated",
  skipped: "skipped",
  already: "already handled",
  replan: "re-planned",
};

const STATES: Record<string, string> = {
  scheduled: "Next step scheduled",
  waiting: "Waiting",
  done: "Every step done",
  closed: "Finished",
};

function stepName(key: string): string {
  return STEP_NAMES[key] ?? key.replace(/-/g, " ").replace(/^\w/, (first) => first.toUpperCase());
}

// While the workflow still has a step to take, its answer is re-read now and then.
const LIVE_REFRESH_MS = 5_000;

/** The invoice's reminders: what went out, what comes next and when, and pause/resume. */
export function DunningSection({ invoice }: { invoice: Invoice }) {
  const { firm } = useMe();
  const queryClient = useQueryClient();
  const key = [...invoiceKey(invoice.id), "dunning"];
  const dunning = useQuery({
    queryKey: key,
    queryFn: async () =>
      data(await api.GET("/v1/invoices/{invoice_id}/dunning", { params: { path: { invoice_id: invoice.id } } })),
    refetchInterval: (query) => {
      const state = query.state.data?.live?.state;
      return state === "done" || state === "closed" ? false : LIVE_REFRESH_MS;
    },
  });
  const toggle = async (pause: boolean) => {
    const params = { params: { path: { invoice_id: invoice.id } } };
    if (pause) await api.POST("/v1/invoices/{invoice_id}/dunning/pause", params);
    else await api.POST("/v1/invoices/{invoice_id}/dunning/resume", params);
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: key }),
      queryClient.invalidateQueries({ queryKey: invoiceKey(invoice.id), exact: true }),
    ]);
  };

  const current = dunning.data;
  const live = current?.live ?? null;
  const receivable = invoice.status === "open" || invoice.status === "partially_paid";
  const reminders = current?.reminders ?? [];
  return (
    <section aria-labelledby="invoice-dunning">
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Title order={2} size="h4" id="invoice-dunning">
            Reminders
          </Title>
          {current?.dunning_paused && <Badge color="yellow">Paused</Badge>}
          {current?.in_collections && <Badge color="red">In collections</Badge>}
        </Group>
        {current && receivable &&
          (current.dunning_paused ? (
            <Button variant="default" onClick={() => toggle(false)}>
              Resume reminders
            </Button>
          ) : (
            <ConfirmAction
              label="Pause reminders"
              title="Pause this invoice's reminders?"
              confirmColor="yellow"
              consequence="No reminder for this invoice goes out until you resume them. Steps that fall due meanwhile collapse into one reminder sent on resuming."
              onConfirm={() => toggle(true)}
            />
          ))}
      </Group>
      <ProblemAlert error={dunning.error} />
      {current && (
        <Timeline active={reminders.length - 1} bulletSize={22} lineWidth={2} aria-label="Reminder timeline">
          {reminders.map((reminder) => (
            <Timeline.Item
              key={`${reminder.step_key}-${reminder.created_at}`}
              bullet={<IconCircleCheck size={14} />}
              title={`${stepName(reminder.step_key)}: ${OUTCOMES[reminder.outcome] ?? reminder.outcome}`}
            >
              <Text size="sm" c="gray.7">
                {formatDateTime(reminder.created_at, firm.time_zone)}
                {reminder.recipient && ` · to ${reminder.recipient}`}
              </Text>
            </Timeline.Item>
          ))}
          <Timeline.Item
            bullet={live?.paused ? <IconPlayerPause size={14} /> : <IconClock size={14} />}
            title={live ? STATES[live.state] ?? live.state : "Next step unknown"}
          >
            <Text size="sm" c="gray.7" data-testid="dunning-next">
              {live
                ? live.step_key && live.state === "scheduled"
                  ? `${stepName(live.step_key)} on ${formatDateTime(live.at, firm.time_zone)}`
                  : live.reason || "Nothing planned"
                : invoice.sent_at
                  ? "The reminder process did not answer; reload in a moment."
                  : "Reminders start when the invoice is sent."}
            </Text>
          </Timeline.Item>
        </Timeline>
      )}
    </section>
  );
}
