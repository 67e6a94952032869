/** Envelope statuses and trail events as the staff screens name them. */

export const ENVELOPE_STATUSES = ["draft", "sent", "completed", "declined", "expired", "voided"] as const;
export type EnvelopeStatus = (typeof ENVELOPE_STATUSES)[number];

export const STATUS_LABELS: Record<EnvelopeStatus, string> = {
  draft: "Draft",
  sent: "Sent",
  completed: "Completed",
  declined: "Declined",
  expired: "Expired",
  voided: "Voided",
};

export const STATUS_COLOURS: Record<EnvelopeStatus, string> = {
  draft: "gray",
  sent: "blue",
  completed: "green",
  declined: "red",
  expired: "orange",
  voided: "dark",
};

export function isEnvelopeStatus(value: unknown): value is EnvelopeStatus {
  return typeof value === "string" && (ENVELOPE_STATUSES as readonly string[]).includes(value);
}

export const RECIPIENT_STATUS_LABELS: Record<string, string> = {
  created: "Waiting for an earlier group",
  sent: "Sent",
  viewed: "Viewed",
  signed: "Signed",
  declined: "Declined",
};

const EVENT_LABELS: Record<string, string> = {
  created: "Created",
  sent: "Sent",
  delivered: "Signing email delivered",
  viewed: "Viewed",
  consented: "Consented to sign electronically",
  code_sent: "One-time code sent",
  code_verified: "Code verified",
  signed: "Signed",
  declined: "Declined",
  reminded: "Reminded",
  recipient_corrected: "Recipient corrected",
  expiry_warning: "Expiry warning sent",
  expired: "Expired",
  resent: "Re-sent",
  voided: "Voided",
  completed: "Completed",
  sealed: "Sealed",
};

/** An event's kind in words; a kind this page does not know yet reads as the API wrote it. */
export function eventLabel(kind: string): string {
  return EVENT_LABELS[kind] ?? kind.replace(/_/g, " ");
}

export const PROVIDER_LABELS: Record<string, string> = {
  builtin: "firmflow (built in)",
  docusign: "DocuSign",
  dropbox_sign: "Dropbox Sign",
};

/** What the detail page may offer for an envelope in ``status``. */
export function actionsFor(status: string): { edit: boolean; void: boolean; remind: boolean; resend: boolean; correct: boolean } {
  return {
    edit: status === "draft",
    void: status === "sent",
    remind: status === "sent",
    resend: status === "expired",
    correct: status === "sent",
  };
}

/**
 * A draft's recipients change freely; once sent, a recipient may be corrected until they
 * have signed or declined.
 */
export function correctable(envelopeStatus: string, recipientStatus: string): boolean {
  if (envelopeStatus === "draft") return true;
  return envelopeStatus === "sent" && recipientStatus !== "signed" && recipientStatus !== "declined";
}
