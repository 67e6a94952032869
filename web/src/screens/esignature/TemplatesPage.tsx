import { Anchor, Button, Stack, Table } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { keys } from "./queries";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { AnchorLink } from "@/components/AnchorLink";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

export function TemplatesPage() {
  const { firm, user } = useMe();
  // Templates are kept by owners and admins (esignature:manage); everyone uses them.
  const manager = user.role === "owner" || user.role === "admin";
  const templates = useInfiniteQuery({
    queryKey: [...keys.templates, "list"],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/envelope-templates", { params: { query: { cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(templates.data?.pages);

  return (
    <>
      <Anchor component={Link} to="/envelopes" size="sm">
        ← Envelopes
      </Anchor>
      <PageHeader
        title="Envelope templates"
        description="Documents, roles and fields kept for reuse: choose one, pick a client, and its contacts fill the roles."
        actions={
          manager && (
            <Button renderRoot={(props) => <Link {...props} to="/envelope-templates/$templateId" params={{ templateId: "new" }} />}>
              New template
            </Button>
          )
        }
      />
      <Stack gap="md">
        <ProblemAlert error={templates.error} />
        {templates.isSuccess && items.length === 0 ? (
          <EmptyState title="No templates yet">
            {manager
              ? "Make one with New template: the documents, the roles that sign them, and the message."
              : "An owner or admin of the firm makes them."}
          </EmptyState>
        ) : (
          <Table striped highlightOnHover aria-label="Templates">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Envelope title</Table.Th>
                <Table.Th>Roles</Table.Th>
                <Table.Th>Documents</Table.Th>
                <Table.Th>Updated</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((template) => (
                <Table.Tr key={template.id}>
                  <Table.Td>
                    <AnchorLink to="/envelope-templates/$templateId" params={{ templateId: template.id }}>
                      {template.name}
                    </AnchorLink>
                  </Table.Td>
                  <Table.Td>{template.title}</Table.Td>
                  <Table.Td>{template.roles.map((role) => role.name).join(", ")}</Table.Td>
                  <Table.Td>{template.document_ids.length}</Table.Td>
                  <Table.Td>{formatDateTime(template.updated_at, firm.time_zone)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <LoadMore {...templates} />
      </Stack>
    </>
  );
}
