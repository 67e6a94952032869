import { queryOptions, useQuery } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import type { components } from "@/api/schema";

export type Me = components["schemas"]["MeRead"];

/** Who is signed in; null when nobody is (the API answered 401). */
export const meQuery = queryOptions({
  queryKey: ["me"],
  queryFn: async (): Promise<Me | null> => {
    try {
      return data(await api.GET("/v1/me"));
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 401) return null;
      throw error;
    }
  },
  staleTime: 60_000,
});

/** The signed-in user and firm; only under the signed-in layout, which guarantees them. */
export function useMe(): Me {
  const { data: me } = useQuery(meQuery);
  if (!me) throw new Error("useMe() used outside the signed-in layout");
  return me;
}

/** Where to go after signing in: only a path of this app, never another site. */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//")) return "/";
  if (next.startsWith("/sign-in")) return "/";
  return next;
}
