import { describe, expect, it } from "vitest";

import type { PlacedField } from "./builderModel";
import { keptFields, placedTemplateFields, roleParties, templateBuilderDocuments, templateFieldSpecs } from "./templateFields";

const saved = {
  role_key: "client",
  document_id: "doc-1",
  kind: "signature",
  page: 2,
  x: 0.1,
  y: 0.8,
  width: 0.3,
  height: 0.05,
};

const a4 = [595.28, 841.89];

describe("template fields in the builder", () => {
  it("places each role's saved fields and saves them back unchanged", () => {
    const placed = placedTemplateFields([saved, { ...saved, kind: "text", required: false, label: "Tax year" }]);
    expect(placed.map((field) => [field.party, field.document, field.kind, field.required, field.label])).toEqual([
      ["client", "doc-1", "signature", true, ""],
      ["client", "doc-1", "text", false, "Tax year"],
    ]);
    expect(templateFieldSpecs(placed)).toEqual([
      { ...saved, kind: "signature", required: true, label: null },
      { ...saved, kind: "text", required: false, label: "Tax year" },
    ]);
  });

  it("leaves out a field kind the builder does not know", () => {
    expect(placedTemplateFields([{ ...saved, kind: "stamp" }])).toEqual([]);
  });

  it("offers the roles that fill fields and already have a key, in their editor's colours", () => {
    const parties = roleParties([
      { key: "client", name: "Client", role: "signer" },
      { key: "office", name: "Office", role: "cc" },
      { key: "", name: "Spouse", role: "signer" },
      { key: "partner", name: "Partner", role: "approver" },
    ]);
    expect(parties.map((party) => party.key)).toEqual(["client", "partner"]);
    expect(parties[1]?.colour).not.toBe(parties[0]?.colour);
  });

  it("builds on the saved, still chosen, readable documents with their previews", () => {
    const documents = templateBuilderDocuments(
      [
        { document_id: "doc-1", title: "Letter", page_sizes: [a4, a4], problem: null },
        { document_id: "doc-2", title: "Gone", page_sizes: [], problem: "no such document in your firm's library" },
        { document_id: "doc-3", title: null, page_sizes: [a4], problem: null },
        { document_id: "doc-4", title: "Taken out", page_sizes: [a4], problem: null },
      ],
      ["doc-1", "doc-2", "doc-3"],
      (documentId, page, width) => `/preview/${documentId}/${page}?w=${width}`,
    );
    expect(documents.map((document) => [document.key, document.title, document.pageSizes.length])).toEqual([
      ["doc-1", "Letter", 2],
      ["doc-3", "Untitled document", 1],
    ]);
    expect(documents[0]?.pageUrl(2, 1000)).toBe("/preview/doc-1/2?w=1000");
  });

  it("keeps on save only the fields the server would accept", () => {
    const field = (party: string, document: string, page: number): PlacedField => ({
      key: `${party}-${document}-${page}`,
      party,
      document,
      kind: "signature",
      page,
      x: 0.1,
      y: 0.1,
      width: 0.2,
      height: 0.05,
      required: true,
      label: "",
    });
    const parties = roleParties([{ key: "client", name: "Client", role: "signer" }]);
    const documents = [{ key: "doc-1", title: "Letter", pageSizes: [a4, a4], pageUrl: () => null }];
    const fields = [field("client", "doc-1", 2), field("partner", "doc-1", 1), field("client", "doc-9", 1), field("client", "doc-1", 3)];
    expect(keptFields(fields, parties, documents).map((kept) => kept.key)).toEqual(["client-doc-1-2"]);
  });
});
