import { notifications } from "@mantine/notifications";
import { Alert, Badge, Button, Group, Paper, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";
import { canManageUsers, FIRM_ROLES, roleLabel, userStatus, type UserStatus } from "./users";

type User = components["schemas"]["UserRead"];
type Role = components["schemas"]["Role"];
type Invitation = components["schemas"]["InvitationRead"];

const USERS = ["users"] as const;

export function UsersPage() {
  const me = useMe();
  const manager = canManageUsers(me.user.role);
  const users = useInfiniteQuery({
    queryKey: USERS,
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/users", { params: { query: { limit: 50, cursor: pageParam } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const items = allItems(users.data?.pages);

  return (
    <Stack>
      <PageHeader
        title="Users"
        description="The people of your firm and the invitations they have not accepted yet. Roles decide what each one may do."
      />
      {manager && <InviteUser />}
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="members">
        <Title order={2} size="h4" id="members" mb="sm">
          Members and invitations
        </Title>
        <ProblemAlert error={users.error} />
        {users.isSuccess && items.length === 0 ? (
          <EmptyState title="No users yet">Invite your colleagues with the form above.</EmptyState>
        ) : (
          <UsersTable users={items} manager={manager} myId={me.user.id} />
        )}
        <LoadMore {...users} />
      </Paper>
    </Stack>
  );
}

interface InviteValues extends Record<string, unknown> {
  email: string;
  name: string;
  role: Role;
}

function InviteUser() {
  const me = useMe();
  const queryClient = useQueryClient();
  const [sent, setSent] = useState<Invitation | null>(null);
  const { form, error, unplaced, submit, submitting } = useApiForm<InviteValues>({
    initialValues: { email: "", name: "", role: "staff" },
  });
  // Only an owner may grant the owner role; the API refuses it to admins.
  const roles = FIRM_ROLES.filter((role) => role !== "owner" || me.user.role === "owner");
  const invite = submit(async (values) => {
    setSent(null);
    const invitation = data(await api.POST("/v1/users", { body: values }));
    setSent(invitation);
    form.reset();
    await queryClient.invalidateQueries({ queryKey: USERS });
  });

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="invite-user">
      <Title order={2} size="h4" id="invite-user" mb="sm">
        Invite a user
      </Title>
      <form onSubmit={invite} noValidate>
        <Stack maw={480}>
          {sent && (
            <Alert
              color="green"
              title="Invitation sent"
              role="status"
              withCloseButton
              closeButtonLabel="Dismiss"
              onClose={() => setSent(null)}
              styles={DARK_TITLE}
            >
              Invitation emailed to {sent.user.email}. The link in it works until{" "}
              {formatDateTime(sent.expires_at, me.firm.time_zone)}.
            </Alert>
          )}
          <ProblemAlert error={error} unplaced={unplaced} />
          <TextInput label="Email" type="email" required {...form.getInputProps("email")} key={form.key("email")} />
          <TextInput label="Name" {...form.getInputProps("name")} key={form.key("name")} />
          <Select
            label="Role"
            required
            allowDeselect={false}
            data={roles.map((role) => ({ value: role, label: roleLabel(role) }))}
            {...form.getInputProps("role")}
            key={form.key("role")}
          />
          <Text size="xs" c="gray.7">
            They receive an email with a link to choose a password; it works for 7 days.
          </Text>
          <Button type="submit" loading={submitting} w="fit-content">
            Send invitation
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}

function UsersTable({ users, manager, myId }: { users: User[]; manager: boolean; myId: string }) {
  const me = useMe();
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table striped aria-label="Users and invitations" verticalSpacing="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Email</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Last sign-in</Table.Th>
            {manager && <Table.Th>Actions</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {users.map((user) => (
            <Table.Tr key={user.id} data-testid={`user-${user.email}`}>
              <Table.Td>
                {user.name || "—"} {user.id === myId && (
                  <Badge variant="light">
                    You
                  </Badge>
                )}
              </Table.Td>
              <Table.Td>{user.email}</Table.Td>
              <Table.Td>{manager ? <RoleSelect user={user} /> : roleLabel(user.role)}</Table.Td>
              <Table.Td>
                <StatusBadge status={userStatus(user)} />
              </Table.Td>
              <Table.Td>{formatDateTime(user.last_login_at, me.firm.time_zone)}</Table.Td>
              {manager && (
                <Table.Td>
                  <UserActions user={user} />
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

// Even the darkest green and yellow of Mantine miss 4.5:1 as small text: the words are near-black.
const DARK_TITLE = { title: { color: "var(--mantine-color-gray-9)" } };

const STATUS_BADGES: Record<UserStatus, { label: string; color: string }> = {
  active: { label: "Active", color: "green" },
  invited: { label: "Invitation pending", color: "yellow" },
  deactivated: { label: "Deactivated", color: "gray" },
};

function StatusBadge({ status }: { status: UserStatus }) {
  const { label, color } = STATUS_BADGES[status];
  return (
    <Badge color={color} variant="light">
      {label}
    </Badge>
  );
}

/** Changing a role happens in the row; the API's refusal (the last owner) shows under it. */
function RoleSelect({ user }: { user: User }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const [problem, setProblem] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const who = user.name || user.email;
  if (user.role === "client") return <>{roleLabel(user.role)}</>;
  const roles = FIRM_ROLES.filter((role) => role !== "owner" || me.user.role === "owner" || user.role === "owner");

  const change = async (role: string | null) => {
    if (role === null || role === user.role) return;
    setProblem(null);
    setSaving(true);
    try {
      data(
        await api.PATCH("/v1/users/{user_id}", {
          params: { path: { user_id: user.id } },
          body: { role: role as Role },
        }),
      );
      notifications.show({ message: `${who} is now ${roleLabel(role)}.`, color: "green" });
      await queryClient.invalidateQueries({ queryKey: USERS });
    } catch (caught) {
      setProblem(problemText(caught));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Select
      aria-label={`Role of ${who}`}
      size="xs"
      w={200}
      allowDeselect={false}
      disabled={saving}
      value={user.role}
      data={roles.map((role) => ({ value: role, label: roleLabel(role) }))}
      onChange={change}
      error={problem}
      errorProps={{ role: "alert" }}
    />
  );
}

function problemText(caught: unknown): string {
  if (caught instanceof ApiProblem) return caught.problem.detail || caught.problem.title;
  return "The change could not be saved; reload the page and try again.";
}

function UserActions({ user }: { user: User }) {
  const queryClient = useQueryClient();
  const who = user.name || user.email;
  const status = userStatus(user);
  const refresh = () => queryClient.invalidateQueries({ queryKey: USERS });

  const setActive = async (isActive: boolean) => {
    data(
      await api.PATCH("/v1/users/{user_id}", {
        params: { path: { user_id: user.id } },
        body: { is_active: isActive },
      }),
    );
    notifications.show({ message: `${who} ${isActive ? "reactivated" : "deactivated"}.` });
    await refresh();
  };
  const resend = async () => {
    const invitation = data(
      await api.POST("/v1/users/{user_id}/invitation", { params: { path: { user_id: user.id } } }),
    );
    notifications.show({ message: `Invitation emailed to ${invitation.user.email}.`, color: "green" });
    await refresh();
  };

  return (
    <Group gap="xs" wrap="nowrap">
      {status === "active" && (
        <ConfirmAction
          size="xs"
          label="Deactivate"
          aria-label={`Deactivate ${who}`}
          title={`Deactivate ${who}?`}
          consequence={
            <>
              {who} is signed out everywhere at once: every session and API token they hold stops working, and
              they cannot sign in until someone reactivates them. Their records and history stay.
            </>
          }
          onConfirm={() => setActive(false)}
        />
      )}
      {status === "deactivated" && (
        <ConfirmAction
          size="xs"
          label="Reactivate"
          aria-label={`Reactivate ${who}`}
          title={`Reactivate ${who}?`}
          confirmColor="blue"
          consequence={<>{who} can sign in again with their password, with the role they have now.</>}
          onConfirm={() => setActive(true)}
        />
      )}
      {status === "invited" && (
        <ConfirmAction
          size="xs"
          label="Resend invitation"
          aria-label={`Resend invitation to ${who}`}
          title={`Resend the invitation to ${who}?`}
          confirmColor="blue"
          consequence={<>A new link is emailed to {user.email}; the links sent before stop working.</>}
          onConfirm={resend}
        />
      )}
    </Group>
  );
}
