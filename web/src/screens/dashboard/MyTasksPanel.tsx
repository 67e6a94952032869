import { useInfiniteQuery } from "@tanstack/react-query";

import { myOpenTasksQuery } from "./dashboardQueries";
import { Panel, PanelSkeleton } from "./Panel";
import { TasksTable } from "@/screens/tasks/TasksTable";
import { allItems } from "@/components/LoadMore";
import { EmptyState } from "@/components/EmptyState";
import { ProblemAlert } from "@/components/ProblemAlert";

export function MyTasksPanel() {
  const tasks = useInfiniteQuery(myOpenTasksQuery);
  const items = allItems(tasks.data?.pages);
  return (
    <Panel title="My open tasks" to="/tasks" linkLabel="All my tasks">
      {tasks.isPending ? (
        <PanelSkeleton />
      ) : tasks.isError ? (
        <ProblemAlert error={tasks.error} />
      ) : items.length === 0 ? (
        <EmptyState title="No open tasks">Tasks assigned to you show here; add one on the Tasks page.</EmptyState>
      ) : (
        <TasksTable tasks={items} compact />
      )}
    </Panel>
  );
}
