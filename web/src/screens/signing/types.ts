/**
 * The public signing API's shapes (docs/esignature/signing.md), as the signing page uses them.
 */

export type FieldKind = "signature" | "initials" | "date_signed" | "text" | "checkbox";

export interface SigningField {
  id: string;
  envelope_document_id: string;
  kind: FieldKind;
  page: number;
  /** Fractions of the page from its top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
  required: boolean;
  label?: string | null;
  value?: string | null;
}

export interface SigningDocument {
  id: string;
  title: string;
  page_count: number;
  /** Each page's [width, height] in points. */
  page_sizes: number[][];
}

export interface SigningView {
  envelope: {
    id: string;
    title: string;
    message?: string | null;
    status: string;
    expires_at?: string | null;
  };
  firm: { name: string };
  recipient: { id: string; name: string; email: string; role: string; status: string };
  needs_consent: boolean;
  needs_code: boolean;
  can_sign: boolean;
  disclosure: string;
  documents: SigningDocument[];
  fields: SigningField[];
}

/** A signature or initials as the signer adopted it. */
export type Adopted = { kind: "typed"; text: string } | { kind: "drawn"; image_png_base64: string };

export interface VerifyResult {
  sealed: boolean;
  intact: boolean;
  firmflow: boolean;
  envelope_id?: string | null;
  envelope_title?: string | null;
  firm_name?: string | null;
  sealed_at?: string | null;
  signer_certificate?: { subject: string; fingerprint: string } | null;
  signers: { name: string; email: string; signed_at?: string | null }[];
  document_sha256: string;
  problems: string[];
}
