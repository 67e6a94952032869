import { Textarea } from "@mantine/core";
import { useState } from "react";

import { signingApi } from "./signingApi";
import { ApiProblem, fieldErrors } from "@/api/problem";
import { ConfirmAction } from "@/components/ConfirmAction";

interface Props {
  recipientId: string;
  token: string;
  firmName: string;
  onDeclined: () => void;
}

/** Decline to sign, with the reason the sender reads. */
export function DeclineButton({ recipientId, token, firmName, onDeclined }: Props) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <ConfirmAction
      label="Decline to sign"
      title="Decline to sign"
      consequence={`${firmName} is told that you declined, with your reason. The documents can then no longer be signed by anyone through this request.`}
      onConfirm={async () => {
        setError(null);
        try {
          await signingApi.decline(recipientId, token, reason.trim());
        } catch (caught) {
          // The reason's error on its field; the dialog's alert still shows the problem.
          if (caught instanceof ApiProblem) setError(fieldErrors(caught.problem).reason ?? null);
          throw caught;
        }
        onDeclined();
      }}
    >
      <Textarea
        label="Why do you decline?"
        description="The sender reads this."
        required
        autosize
        minRows={2}
        maxLength={500}
        value={reason}
        error={error}
        onChange={(event) => setReason(event.currentTarget.value)}
      />
    </ConfirmAction>
  );
}
