import { Button, Card, Group, Stack, Text, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { DeclineButton } from "./DeclineButton";
import { AdoptedMark, DocumentPages, type FieldsState } from "./DocumentPages";
import { adoptionNeeded, fieldsPayload, initialValues, missingRequired, placeErrors, type FieldValues } from "./fields";
import { SignatureDialog } from "./SignatureDialog";
import { signingApi, type SignRequest } from "./signingApi";
import type { Adopted, SigningView } from "./types";
import { ApiProblem, type ProblemItem } from "@/api/problem";
import { ProblemAlert } from "@/components/ProblemAlert";

interface Props {
  view: SigningView;
  recipientId: string;
  token: string;
  onSigned: () => void;
  onDeclined: () => void;
}

type Mark = "signature" | "initials";

/** The documents with this recipient's fields, the adopted signature, Finish and Decline. */
export function SignStep({ view, recipientId, token, onSigned, onDeclined }: Props) {
  const [values, setValues] = useState<FieldValues>(() => initialValues(view.fields));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [marks, setMarks] = useState<Partial<Record<Mark, Adopted>>>({});
  const [markErrors, setMarkErrors] = useState<Partial<Record<Mark, string>>>({});
  const [dialog, setDialog] = useState<Mark | null>(null);
  const [unplaced, setUnplaced] = useState<ProblemItem[]>([]);
  const needed = adoptionNeeded(view.recipient.role, view.fields);

  const sign = useMutation({
    mutationFn: (body: SignRequest) => signingApi.sign(recipientId, token, body),
    onSuccess: onSigned,
  });

  const finish = () => {
    setUnplaced([]);
    // The marks are checked on their own below: a missing one opens the dialog.
    const missing = missingRequired(view.fields, values, { signature: true, initials: true });
    const missingMarks: Partial<Record<Mark, string>> = {};
    if (needed.signature && !marks.signature) missingMarks.signature = "Adopt your signature before you finish.";
    if (needed.initials && !marks.initials) missingMarks.initials = "Adopt your initials before you finish.";
    setMarkErrors(missingMarks);
    setErrors(Object.fromEntries(missing.map((id) => [id, "Fill this in before you finish."])));
    if (missing.length > 0) return document.getElementById(`field-${missing[0]}`)?.focus();
    if (missingMarks.signature || missingMarks.initials) return setDialog(missingMarks.signature ? "signature" : "initials");
    const sent = fieldsPayload(view.fields, values);
    const body: SignRequest = { fields: sent };
    if (needed.signature) body.signature = marks.signature;
    if (needed.initials) body.initials = marks.initials;
    sign.mutate(body, {
      onError: (error) => {
        if (!(error instanceof ApiProblem)) return;
        const placed = placeErrors(error.problem, sent);
        setErrors(placed.byField);
        setMarkErrors({ signature: placed.signature, initials: placed.initials });
        setUnplaced(placed.other);
      },
    });
  };

  const state: FieldsState = {
    values,
    errors,
    signature: marks.signature,
    initials: marks.initials,
    onChange: (fieldId, value) => {
      setValues((current) => ({ ...current, [fieldId]: value }));
      setErrors((current) => Object.fromEntries(Object.entries(current).filter(([id]) => id !== fieldId)));
    },
    onAdopt: setDialog,
  };

  return (
    <Stack gap="lg">
      <Text size="sm">
        Fill in the highlighted fields, adopt your signature, then press <strong>Finish</strong>.
      </Text>
      <DocumentPages recipientId={recipientId} token={token} documents={view.documents} fields={view.fields} state={state} />
      <Card withBorder padding="lg" component="section" aria-labelledby="finish-title">
        <Stack gap="md">
          <Title order={2} size="h4" id="finish-title">
            Finish
          </Title>
          {(["signature", "initials"] as const)
            .filter((mark) => needed[mark])
            .map((mark) => (
              <MarkRow key={mark} mark={mark} adopted={marks[mark]} error={markErrors[mark]} onOpen={() => setDialog(mark)} />
            ))}
          <ProblemAlert error={sign.error} unplaced={sign.error instanceof ApiProblem && sign.error.status === 422 ? unplaced : undefined} />
          <Group justify="space-between">
            <DeclineButton recipientId={recipientId} token={token} firmName={view.firm.name} onDeclined={onDeclined} />
            <Button size="md" onClick={finish} loading={sign.isPending}>
              Finish
            </Button>
          </Group>
          <Text size="xs" c="gray.7">
            By pressing Finish you sign these documents electronically, as agreed.
          </Text>
        </Stack>
      </Card>
      <SignatureDialog
        mark={dialog ?? "signature"}
        opened={dialog !== null}
        signerName={view.recipient.name}
        current={dialog ? marks[dialog] : undefined}
        onClose={() => setDialog(null)}
        onAdopt={(adopted) => {
          if (!dialog) return;
          setMarks((current) => ({ ...current, [dialog]: adopted }));
          setMarkErrors((current) => ({ ...current, [dialog]: undefined }));
        }}
      />
    </Stack>
  );
}

interface MarkRowProps {
  mark: Mark;
  adopted: Adopted | undefined;
  error: string | undefined;
  onOpen: () => void;
}

function MarkRow({ mark, adopted, error, onOpen }: MarkRowProps) {
  const noun = mark === "signature" ? "signature" : "initials";
  return (
    <Stack gap={4}>
      <Group justify="space-between" wrap="wrap">
        <Stack gap={2}>
          <Text size="sm" fw={500}>
            Your {noun}
          </Text>
          <Group h={48} data-testid={`adopted-${mark}`}>
            {adopted ? <AdoptedMark adopted={adopted} fontPx={30} /> : <Text size="sm" c="gray.7">Not adopted yet</Text>}
          </Group>
        </Stack>
        <Button variant="default" onClick={onOpen}>
          {adopted ? `Change ${noun}` : `Adopt ${noun}`}
        </Button>
      </Group>
      {error && (
        <Text size="sm" c="red.8" role="alert">
          {error}
        </Text>
      )}
    </Stack>
  );
}
