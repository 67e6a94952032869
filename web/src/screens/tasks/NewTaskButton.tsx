import { Button, Group, Modal, Select, Stack, Textarea, TextInput } from "@mantine/core";
import { DateInput } from "@mantine/dates";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { ClientPicker } from "@/components/ClientPicker";
import { firmUsersQuery } from "./lookups";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

/** "New task": a dialog whose form the API checks, each problem shown on its field. */
export function NewTaskButton() {
  const [opened, { open, close }] = useDisclosure(false);
  return (
    <>
      <Button onClick={open}>New task</Button>
      <Modal
        opened={opened}
        onClose={close}
        title="New task"
        centered
        closeButtonProps={{ "aria-label": "Close" }}
      >
        {opened && <NewTaskForm onDone={close} />}
      </Modal>
    </>
  );
}

interface Values extends Record<string, unknown> {
  title: string;
  description: string;
  due_date: string | null;
  assignee_id: string | null;
  client_id: string | null;
}

function NewTaskForm({ onDone }: { onDone: () => void }) {
  const { user } = useMe();
  const queryClient = useQueryClient();
  const users = useQuery(firmUsersQuery);
  const { form, error, unplaced, submit, submitting } = useApiForm<Values>({
    initialValues: { title: "", description: "", due_date: null, assignee_id: user.id, client_id: null },
  });
  const people = (users.data?.items ?? [])
    .filter((person) => person.is_active && person.role !== "client")
    .map((person) => ({ value: person.id, label: person.name || person.email }));

  const create = submit(async (values) => {
    const task = data(
      await api.POST("/v1/tasks", {
        body: {
          title: values.title,
          description: values.description.trim() || null,
          due_date: values.due_date,
          assignee_id: values.assignee_id,
          client_id: values.client_id,
        },
      }),
    );
    await queryClient.invalidateQueries({ queryKey: ["tasks"] });
    notifications.show({ color: "green", message: `Task added: ${task.title}` });
    onDone();
  });

  return (
    <form onSubmit={create} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <TextInput label="Title" required data-autofocus {...form.getInputProps("title")} />
        <Textarea label="Description" autosize minRows={2} {...form.getInputProps("description")} />
        <DateInput
          label="Due date"
          description="A day in the firm's time zone"
          valueFormat="D MMM YYYY"
          clearable
          {...form.getInputProps("due_date")}
        />
        <Select
          label="Assignee"
          placeholder="Nobody"
          data={people}
          clearable
          searchable
          {...form.getInputProps("assignee_id")}
        />
        <ClientPicker
          label="Client"
          placeholder="No client"
          clearable
          value={form.getValues().client_id}
          onChange={(client) => form.setFieldValue("client_id", client)}
          error={form.errors.client_id}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={submitting}>
            Add task
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
