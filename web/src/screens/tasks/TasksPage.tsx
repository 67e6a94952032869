import "@mantine/dates/styles.css";

import { Skeleton, Stack } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";

import { NewTaskButton } from "./NewTaskButton";
import { tasksRoute } from "./routes";
import { TaskFilters } from "./TaskFilters";
import { tasksQuery } from "./tasksQueries";
import { taskQuery, type TaskSearch } from "./taskSearch";
import { TasksTable } from "./TasksTable";
import { allItems, LoadMore } from "@/components/LoadMore";
import { EmptyState } from "@/components/EmptyState";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";

export function TasksPage() {
  const search = tasksRoute.useSearch();
  const navigate = useNavigate({ from: "/tasks" });
  const tasks = useInfiniteQuery(tasksQuery(taskQuery(search)));
  const items = allItems(tasks.data?.pages);

  const setSearch = (next: TaskSearch) => navigate({ search: next, replace: true });

  return (
    <>
      <PageHeader
        title="Tasks"
        description="The firm's to-dos. Due dates are days in the firm's time zone."
        actions={<NewTaskButton />}
      />
      <Stack>
        <TaskFilters search={search} onChange={setSearch} />
        <ProblemAlert error={tasks.error} />
        {tasks.isPending ? (
          <Skeleton height={160} aria-hidden />
        ) : items.length === 0 ? (
          <EmptyState title="No tasks match">
            {search.view === "all"
              ? "Nobody has a task with these filters. Change the filters, or add a task."
              : "Nothing is assigned to you with these filters. See all tasks, or add one."}
          </EmptyState>
        ) : (
          <>
            <TasksTable tasks={items} />
            <LoadMore {...tasks} />
          </>
        )}
      </Stack>
    </>
  );
}
