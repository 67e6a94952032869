import { Badge, Table, Title } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";

import { AnchorLink } from "@/components/AnchorLink";
import { keys, type Client } from "./queries";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate, formatDateTime, todayIn } from "@/lib/format";

export function TasksSection({ client }: { client: Client }) {
  const { firm } = useMe();
  const today = todayIn(firm.time_zone);
  const tasks = useInfiniteQuery({
    queryKey: [...keys.client(client.id), "tasks"],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/tasks", { params: { query: { client_id: client.id, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(tasks.data?.pages);

  return (
    <section aria-labelledby="client-tasks">
      <Title order={2} size="h4" id="client-tasks" mb="xs">
        Tasks
      </Title>
      <ProblemAlert error={tasks.error} />
      {tasks.isSuccess && items.length === 0 ? (
        <EmptyState title="No tasks for this client">
          Add one on the <AnchorLink to="/tasks" underline="always">Tasks</AnchorLink> page and link it to this client; automations can create
          them too.
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="Tasks of this client" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Task</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Due</Table.Th>
                <Table.Th>Completed</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((task) => {
                // Due dates are calendar days of the firm: overdue once the firm's today is past it.
                const overdue = task.status === "open" && task.due_date !== null && task.due_date < today;
                return (
                  <Table.Tr key={task.id}>
                    <Table.Td>{task.title}</Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={task.status === "done" ? "green" : overdue ? "red" : "blue"}>
                        {task.status === "done" ? "done" : overdue ? "overdue" : "open"}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{formatDate(task.due_date)}</Table.Td>
                    <Table.Td>{task.completed_at ? formatDateTime(task.completed_at, firm.time_zone) : "—"}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...tasks} />
    </section>
  );
}
