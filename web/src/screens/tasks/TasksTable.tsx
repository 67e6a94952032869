import { Anchor, Badge, Button, Group, Table, Text, VisuallyHidden } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { useClientNames, useUserName } from "./lookups";
import { taskChanged } from "./tasksQueries";
import { isOverdue, type Task } from "./taskSearch";
import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import { useMe } from "@/app/session";
import { formatDate, todayIn } from "@/lib/format";

/** The tasks as a table: what, for whom, by when, and the action that fits its status. */
export function TasksTable({ tasks, compact = false }: { tasks: Task[]; compact?: boolean }) {
  const { firm } = useMe();
  const today = todayIn(firm.time_zone);
  const userName = useUserName();
  const clientNames = useClientNames(tasks.map((task) => task.client_id));

  return (
    <Table.ScrollContainer minWidth={compact ? 0 : 720}>
      <Table aria-label="Tasks" verticalSpacing="xs" highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Task</Table.Th>
            <Table.Th>Client</Table.Th>
            {!compact && <Table.Th>Assignee</Table.Th>}
            <Table.Th>Due</Table.Th>
            {!compact && <Table.Th>Status</Table.Th>}
            {!compact && (
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            )}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tasks.map((task) => (
            <Table.Tr key={task.id}>
              <Table.Td>
                <Text size="sm" fw={500}>
                  {task.title}
                </Text>
                {!compact && task.description && (
                  <Text size="xs" c="gray.7" lineClamp={2}>
                    {task.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                {task.client_id ? (
                  <Anchor component={Link} to={`/clients/${task.client_id}`} size="sm">
                    {clientNames[task.client_id] ?? "Client"}
                  </Anchor>
                ) : (
                  "—"
                )}
              </Table.Td>
              {!compact && <Table.Td>{userName(task.assignee_id)}</Table.Td>}
              <Table.Td>
                <DueDate task={task} today={today} />
              </Table.Td>
              {!compact && (
                <Table.Td>
                  <Badge color={task.status === "done" ? "teal.9" : "gray.7"} variant="filled">
                    {task.status === "done" ? "Done" : "Open"}
                  </Badge>
                </Table.Td>
              )}
              {!compact && (
                <Table.Td>
                  <ToggleDone task={task} />
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function DueDate({ task, today }: { task: Task; today: string }) {
  if (!isOverdue(task, today)) return <Text size="sm">{formatDate(task.due_date)}</Text>;
  return (
    <Group gap={6} wrap="nowrap">
      <Text size="sm" c="red.9" fw={600}>
        {formatDate(task.due_date)}
      </Text>
      <Badge color="red.9" variant="filled" size="sm">
        Overdue
      </Badge>
    </Group>
  );
}

/** Complete an open task or reopen a done one; either can be undone by the other. */
function ToggleDone({ task }: { task: Task }) {
  const queryClient = useQueryClient();
  const done = task.status === "done";
  const toggle = useMutation({
    mutationFn: async () => {
      const params = { params: { path: { task_id: task.id } } };
      return data(
        done
          ? await api.POST("/v1/tasks/{task_id}/reopen", params)
          : await api.POST("/v1/tasks/{task_id}/complete", params),
      );
    },
    onSuccess: async (changed) => {
      await taskChanged(queryClient, changed);
      notifications.show({
        color: "green",
        message: `${changed.status === "done" ? "Completed" : "Reopened"}: ${changed.title}`,
      });
    },
    onError: (error) =>
      notifications.show({
        color: "red",
        title: error instanceof ApiProblem ? error.problem.title : "The task did not change",
        message: error instanceof ApiProblem ? error.problem.detail : "Try again.",
      }),
  });
  return (
    <Button
      size="xs"
      variant={done ? "default" : "filled"}
      loading={toggle.isPending}
      onClick={() => toggle.mutate()}
      aria-label={`${done ? "Reopen" : "Complete"} ${task.title}`}
    >
      {done ? "Reopen" : "Complete"}
    </Button>
  );
}
