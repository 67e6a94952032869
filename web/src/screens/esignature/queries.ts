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

/** The firm's connections to outside providers; an envelope may use only those. */
export const connectionsQuery = queryOptions({
  queryKey: keys.connections,
  queryFn: async () => data(await api.GET("/v1/firm/esignature-connections")),
  staleTime: 60_000,
});
