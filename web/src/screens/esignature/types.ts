import type { components } from "@/api/schema";

/** The e-signature API's shapes as the staff screens read them. */
export type EnvelopeRead = components["schemas"]["EnvelopeRead"];
export type EnvelopeSummary = components["schemas"]["EnvelopeSummary"];
export type RecipientRead = components["schemas"]["RecipientRead"];
export type EnvelopeEventRead = components["schemas"]["EnvelopeEventRead"];
