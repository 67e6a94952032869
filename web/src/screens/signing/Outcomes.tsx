import { Alert, Anchor, Stack, Text } from "@mantine/core";
import { Link } from "@tanstack/react-router";

import type { SigningView } from "./types";
import { ApiProblem } from "@/api/problem";
import { PageHeader } from "@/components/PageHeader";

// Mantine's light alerts draw green and yellow titles too pale to read (axe's contrast rule).
export const READABLE = { title: { color: "var(--mantine-color-text)" } };

const ASK_SENDER = "Ask the sender for a new link.";

/** A forged, altered, superseded or another recipient's link, an expired one, or a reload that lost it. */
export function InvalidLink({ expired = false }: { expired?: boolean }) {
  return (
    <>
      <PageHeader title={expired ? "This link has expired" : "This link does not work"} />
      <Alert
        color="red"
        styles={READABLE}
        title={expired ? "The signing link has expired" : "The signing link is not valid"}
        role="alert"
      >
        <Text size="sm">
          {expired
            ? "Signing links work for a limited time. "
            : "Open the link from your email again: a link works only as it was sent, and a newer email replaces it. "}
          {ASK_SENDER}
        </Text>
      </Alert>
    </>
  );
}

const CLOSED_REASONS: Record<string, string> = {
  voided: "The sender cancelled this signing request.",
  expired: "This signing request expired before everyone signed. Ask the sender to send it again.",
  completed: "Everyone has signed these documents. A copy of the signed documents was emailed to every recipient.",
  declined: "Someone declined to sign, so the request is closed.",
};

/** The documents can no longer be signed: voided, expired, completed or declined. */
export function ClosedEnvelope({ view, error }: { view?: SigningView; error?: ApiProblem }) {
  const status = view?.envelope.status ?? "";
  const reason = CLOSED_REASONS[status] ?? error?.problem.detail ?? "This signing request is closed.";
  return (
    <>
      <PageHeader title="These documents can no longer be signed" description={view?.envelope.title} />
      <Stack>
        <Alert color="gray" styles={READABLE} title={error?.problem.title ?? "Signing is closed"} role="status">
          <Text size="sm">{reason}</Text>
        </Alert>
        <VerifyLink />
      </Stack>
    </>
  );
}

/** Someone earlier in the signing order has not finished yet. */
export function NotYourTurn({ view, error }: { view?: SigningView; error?: ApiProblem }) {
  return (
    <>
      <PageHeader title="It is not your turn yet" description={view?.envelope.title} />
      <Alert color="blue" styles={READABLE} title="Others sign before you" role="status">
        <Text size="sm">
          {error?.problem.detail ? `${error.problem.detail} ` : ""}You will get an email when it is your turn to sign.
        </Text>
      </Alert>
    </>
  );
}

export function Signed({ view }: { view?: SigningView }) {
  const completed = view?.envelope.status === "completed";
  return (
    <>
      <PageHeader title="Thank you, you have signed" description={view?.envelope.title} />
      <Stack>
        <Alert color="green" styles={READABLE} title="Your signature was recorded" role="status" data-testid="signed">
          <Text size="sm">
            {completed
              ? "Everyone has signed. A copy of the signed documents is on its way to your email."
              : "When everyone has signed, you will receive a copy of the signed documents by email."}
          </Text>
        </Alert>
        <VerifyLink />
      </Stack>
    </>
  );
}

export function Declined({ firmName }: { firmName?: string }) {
  return (
    <>
      <PageHeader title="You declined to sign" />
      <Stack>
        <Alert color="gray" styles={READABLE} title="Nothing was signed" role="status" data-testid="declined">
          <Text size="sm">
            {firmName ?? "The sender"} has been told, with your reason. You can close this page.
          </Text>
        </Alert>
      </Stack>
    </>
  );
}

export function VerifyLink() {
  return (
    <Text size="sm">
      Received a signed PDF?{" "}
      <Anchor component={Link} to="/verify">
        Check that it has not been changed since it was sealed
      </Anchor>
      .
    </Text>
  );
}
