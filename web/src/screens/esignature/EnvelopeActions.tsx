import { Button, NumberInput, Textarea } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { keys } from "./queries";
import { actionsFor } from "./status";
import type { EnvelopeRead } from "./types";
import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";

/** What can be done with the envelope in its state; each change asks first and says what happens. */
export function EnvelopeActions({ envelope }: { envelope: EnvelopeRead }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [reason, setReason] = useState("");
  const [expiryDays, setExpiryDays] = useState<number | string>(envelope.expiry_days);
  const can = actionsFor(envelope.status);
  const path = { params: { path: { envelope_id: envelope.id } } };
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.all });

  return (
    <>
      {can.edit && (
        <>
          <Button
            renderRoot={(props) => <Link {...props} to="/envelopes/$envelopeId/edit" params={{ envelopeId: envelope.id }} />}
          >
            Place fields and send
          </Button>
          <ConfirmAction
            label="Delete draft"
            title={`Delete ${envelope.title}?`}
            consequence="The draft, its recipients and its fields are deleted. The documents stay in the library."
            onConfirm={async () => {
              data(await api.DELETE("/v1/envelopes/{envelope_id}", path));
              await refresh();
              await navigate({ to: "/envelopes" });
            }}
          />
        </>
      )}
      {can.remind && (
        <ConfirmAction
          label="Remind now"
          title="Remind the recipients now?"
          confirmColor="blue"
          consequence="Everyone whose turn it is and who has not signed gets the signing email again today. Scheduled reminders go on as planned."
          onConfirm={async () => {
            data(await api.POST("/v1/envelopes/{envelope_id}/remind", path));
            notifications.show({ message: "A reminder is on its way." });
            await refresh();
          }}
        />
      )}
      {can.resend && (
        <ConfirmAction
          label="Re-send"
          title="Re-send the expired envelope?"
          confirmColor="blue"
          consequence="The envelope opens again for the days below; recipients who had not signed get a new signing link. Signatures already given and the audit trail are kept."
          onConfirm={async () => {
            data(
              await api.POST("/v1/envelopes/{envelope_id}/resend", {
                ...path,
                body: { expiry_days: typeof expiryDays === "number" ? expiryDays : undefined },
              }),
            );
            await refresh();
          }}
        >
          <NumberInput label="Open for (days)" min={1} max={120} allowDecimal={false} value={expiryDays} onChange={setExpiryDays} />
        </ConfirmAction>
      )}
      {can.void && (
        <ConfirmAction
          label="Void"
          title={`Void ${envelope.title}?`}
          consequence="Nobody can sign it any more: every signing link stops working and recipients who were sent it are told, with your reason. This cannot be undone."
          onConfirm={async () => {
            data(await api.POST("/v1/envelopes/{envelope_id}/void", { ...path, body: { reason: reason.trim() } }));
            await refresh();
          }}
        >
          <Textarea
            label="Reason"
            description="Recipients see it"
            required
            maxLength={500}
            autosize
            minRows={2}
            value={reason}
            onChange={(event) => setReason(event.currentTarget.value)}
          />
        </ConfirmAction>
      )}
      {envelope.status !== "draft" && (
        <Button variant="default" component="a" href={`/v1/envelopes/${envelope.id}/certificate`} download>
          Audit certificate (PDF)
        </Button>
      )}
    </>
  );
}
