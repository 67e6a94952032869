import { queryOptions } from "@tanstack/react-query";

import type { LibrarySearch } from "./search";
import { api, data } from "@/api/client";

/** Every query of this area starts with one of these, so a change invalidates the right ones. */
export const keys = {
  all: ["documents"] as const,
  list: (search: LibrarySearch) => ["documents", "list", search] as const,
  one: (documentId: string) => ["documents", "one", documentId] as const,
  versions: (documentId: string) => ["documents", "one", documentId, "versions"] as const,
  reviews: (documentId: string) => ["documents", "one", documentId, "reviews"] as const,
  folders: (clientId: string | undefined) => ["document-folders", clientId ?? "firm"] as const,
  search: ["document-search"] as const,
  settings: ["document-settings"] as const,
  policies: ["retention-policies"] as const,
  holds: ["legal-holds"] as const,
  preview: ["retention-preview"] as const,
  deletions: ["retention-deletions"] as const,
  users: ["documents", "users"] as const,
};

export function documentQuery(documentId: string) {
  return queryOptions({
    queryKey: keys.one(documentId),
    queryFn: async () =>
      data(await api.GET("/v1/documents/{document_id}", { params: { path: { document_id: documentId } } })),
  });
}

/** One version; versions never change, so it is fetched once. */
export function versionQuery(documentId: string, versionId: string) {
  return queryOptions({
    queryKey: [...keys.one(documentId), "version", versionId],
    queryFn: async () =>
      data(
        await api.GET("/v1/documents/{document_id}/versions/{version_id}", {
          params: { path: { document_id: documentId, version_id: versionId } },
        }),
      ),
    staleTime: Infinity,
  });
}

export function foldersQuery(clientId: string | undefined) {
  return queryOptions({
    queryKey: keys.folders(clientId),
    queryFn: async () =>
      data(await api.GET("/v1/document-folders", { params: { query: { client_id: clientId, limit: 100 } } })).items,
    staleTime: 30_000,
  });
}

/** The firm's members, for owners and reviewers (a firm has at most a few hundred). */
export const usersQuery = queryOptions({
  queryKey: keys.users,
  queryFn: async () => data(await api.GET("/v1/users", { params: { query: { limit: 100 } } })).items,
  staleTime: 60_000,
});
