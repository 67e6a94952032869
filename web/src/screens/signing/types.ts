import type { components } from "@/api/schema";

/** The public signing API's shapes (docs/esignature/signing.md), as generated from the API. */
export type SigningView = components["schemas"]["SigningViewRead"];
export type SigningField = components["schemas"]["SigningField"];
export type SigningDocument = components["schemas"]["SigningDocument"];
export type FieldKind = SigningField["kind"];

/** A signature or initials as the signer adopted it. */
export type Adopted = { kind: "typed"; text: string } | { kind: "drawn"; image_png_base64: string };

export type VerifyResult = components["schemas"]["VerificationRead"];
