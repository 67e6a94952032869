import { queryOptions, useQueries, useQuery } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";

export type User = components["schemas"]["UserRead"];
export type Client = components["schemas"]["ClientRead"];

const USERS_PAGE = 100;

/** The firm's people, for names beside ids: one page covers a firm's staff. */
export const firmUsersQuery = queryOptions({
  queryKey: ["users", "names"],
  queryFn: async () => data(await api.GET("/v1/users", { params: { query: { limit: USERS_PAGE } } })),
  staleTime: 5 * 60_000,
});

/** A function naming a user id: the person's name, their email, or "—". */
export function useUserName(): (id: string | null | undefined) => string {
  const { data: page } = useQuery(firmUsersQuery);
  return (id) => {
    if (!id) return "—";
    const user = page?.items.find((candidate) => candidate.id === id);
    return user ? user.name || user.email : "Someone else";
  };
}

export function clientQuery(clientId: string) {
  return queryOptions({
    queryKey: ["clients", clientId],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: clientId } } })),
    staleTime: 60_000,
  });
}

/** The names of these clients, each read once and cached; missing ones stay absent. */
export function useClientNames(ids: (string | null)[]): Record<string, string> {
  const unique = [...new Set(ids.filter((id): id is string => id !== null))];
  const results = useQueries({ queries: unique.map((id) => ({ ...clientQuery(id), retry: false })) });
  const names: Record<string, string> = {};
  results.forEach((result, index) => {
    const id = unique[index];
    if (id && result.data) names[id] = result.data.name;
  });
  return names;
}
