import { infiniteQueryOptions, type InfiniteData, type QueryClient } from "@tanstack/react-query";

import type { Task, TaskQuery } from "./taskSearch";
import { api, data } from "@/api/client";

export const TASKS_PAGE = 25;

type TaskPage = { items: Task[]; next_cursor?: string | null };

export function tasksQuery(query: TaskQuery, limit = TASKS_PAGE) {
  return infiniteQueryOptions({
    queryKey: ["tasks", "list", query, limit],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/tasks", { params: { query: { ...query, limit, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: TaskPage) => last.next_cursor ?? undefined,
  });
}

/**
 * Puts a changed task in place in every list already loaded, so a completed task stays
 * where it was (with Reopen beside it) instead of vanishing; the lists are read afresh
 * the next time they are shown.
 */
export async function taskChanged(queryClient: QueryClient, task: Task): Promise<void> {
  queryClient.setQueriesData<InfiniteData<TaskPage>>({ queryKey: ["tasks", "list"] }, (old) =>
    old
      ? {
          ...old,
          pages: old.pages.map((page) => ({
            ...page,
            items: page.items.map((item) => (item.id === task.id ? task : item)),
          })),
        }
      : old,
  );
  await queryClient.invalidateQueries({ queryKey: ["tasks"], refetchType: "none" });
}
