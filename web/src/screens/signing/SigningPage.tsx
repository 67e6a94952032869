import { Blockquote, Skeleton, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useEffect, useState } from "react";

import { CodeStep } from "./CodeStep";
import { ConsentStep } from "./ConsentStep";
import { ClosedEnvelope, Declined, InvalidLink, NotYourTurn, Signed } from "./Outcomes";
import { refusalOf } from "./refusal";
import { signRoute } from "./routes";
import { signingApi } from "./signingApi";
import { SignStep } from "./SignStep";
import { rememberToken, tokenFor } from "./token";
import type { SigningView } from "./types";
import { ApiProblem } from "@/api/problem";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";

const CLOSED = new Set(["voided", "expired", "completed", "declined"]);

/** The page of an emailed signing link: consent, the code, the documents, sign or decline. */
export function SigningPage() {
  const { recipientId } = signRoute.useParams();
  const { t } = signRoute.useSearch();
  const navigate = useNavigate();
  const token = t ?? tokenFor(recipientId);
  const [finished, setFinished] = useState<"signed" | "declined" | null>(null);

  useEffect(() => {
    if (!t) return;
    rememberToken(recipientId, t);
    // history.replaceState under the router: the token leaves the address bar and the history.
    void navigate({ to: "/sign/$recipientId", params: { recipientId }, search: {}, replace: true });
  }, [t, recipientId, navigate]);

  const view = useQuery({
    queryKey: ["signing", recipientId],
    enabled: token !== undefined,
    retry: false,
    refetchOnWindowFocus: false,
    queryFn: () => signingApi.view(recipientId, token ?? ""),
  });

  if (token === undefined) return <InvalidLink />;
  if (finished === "declined") return <Declined firmName={view.data?.firm.name} />;
  if (finished === "signed") return <Signed view={view.data} />;
  if (view.error) return <RefusedLink error={view.error} />;
  if (!view.data) return <Loading />;

  const current = view.data;
  const refresh = () => view.refetch();
  if (current.recipient.status === "signed") return <Signed view={current} />;
  if (current.recipient.status === "declined") return <Declined firmName={current.firm.name} />;
  if (CLOSED.has(current.envelope.status)) return <ClosedEnvelope view={current} />;
  if (!current.can_sign) return <NotYourTurn view={current} />;

  const steps = { recipientId, token, view: current };
  return (
    <Stack gap="lg">
      <Introduction view={current} />
      {current.needs_consent ? (
        <ConsentStep {...steps} onDone={refresh} onDeclined={() => setFinished("declined")} />
      ) : current.needs_code ? (
        <CodeStep {...steps} onDone={refresh} />
      ) : (
        <SignStep
          {...steps}
          onSigned={() => {
            setFinished("signed");
            void view.refetch();
          }}
          onDeclined={() => setFinished("declined")}
        />
      )}
    </Stack>
  );
}

function RefusedLink({ error }: { error: unknown }) {
  if (error instanceof ApiProblem) {
    switch (refusalOf(error.problem)) {
      case "invalid":
        return <InvalidLink />;
      case "expired":
        return <InvalidLink expired />;
      case "closed":
        return <ClosedEnvelope error={error} />;
      case "not-your-turn":
        return <NotYourTurn error={error} />;
    }
  }
  return (
    <>
      <PageHeader title="Documents to sign" />
      <ProblemAlert error={error} />
    </>
  );
}

function Introduction({ view }: { view: SigningView }) {
  return (
    <div>
      <PageHeader title={view.envelope.title} description={`${view.firm.name} asks you, ${view.recipient.name}, to ${view.recipient.role === "approver" ? "approve" : "sign"} these documents.`} />
      {view.envelope.message && (
        <Blockquote color="indigo" p="sm" mt="xs" cite={`— ${view.firm.name}`}>
          <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
            {view.envelope.message}
          </Text>
        </Blockquote>
      )}
    </div>
  );
}

function Loading() {
  return (
    <Stack aria-busy="true" aria-label="Loading the documents">
      <Skeleton height={32} width="60%" />
      <Skeleton height={120} />
      <Skeleton height={400} />
    </Stack>
  );
}
