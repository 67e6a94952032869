import { queryOptions } from "@tanstack/react-query";

import { api, data } from "@/api/client";

/** Every query of this area starts with one of these, so a change invalidates the right ones. */
export const keys = {
  all: ["envelopes"] as const,
  one: (envelopeId: string) => ["envelopes", "one", envelopeId] as const,
  events: (envelopeId: string) => ["envelopes", "one", envelopeId, "events"] as const,
  templates: ["envelope-templates"] as const,
  template: (templateId: string) => ["envelope-templates", "one", templateId] as const,
  settings: ["esignature-settings"] as const,
  connections: ["esignature-connections"] as const,
  // Under the connections' key: changing a connection refreshes the providers staff may pick.
  providers: ["esignature-connections", "sending-providers"] as const,
  certificate: ["signing-certificate"] as const,
};

export function envelopeQuery(envelopeId: string) {
  return queryOptions({
    queryKey: keys.one(envelopeId),
    queryFn: async () =>
      data(await api.GET("/v1/envelopes/{envelope_id}", { params: { path: { envelope_id: envelopeId } } })),
  });
}

/** The page preview of an envelope's document: an image the browser fetches with the session cookie. */
export function pageUrl(envelopeId: string, envelopeDocumentId: string, page: number, width: number): string {
  return `/v1/envelopes/${envelopeId}/documents/${envelopeDocumentId}/pages/${page}?width=${width}`;
}

/** The page preview of a template's document (its current version). */
export function templatePageUrl(templateId: string, documentId: string, page: number, width: number): string {
  return `/v1/envelope-templates/${templateId}/documents/${documentId}/pages/${page}?width=${width}`;
}

/** The providers the firm can send with (built-in first): readable by everyone who sends. */
export const providersQuery = queryOptions({
  queryKey: keys.providers,
  queryFn: async () => data(await api.GET("/v1/firm/esignature-providers")),
  staleTime: 60_000,
});

/** The firm's connections to outside providers (admins only), with their accounts and URLs. */
export const connectionsQuery = queryOptions({
  queryKey: keys.connections,
  queryFn: async () => data(await api.GET("/v1/firm/esignature-connections")),
  staleTime: 60_000,
});
