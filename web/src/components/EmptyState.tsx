import { Paper, Stack, Text } from "@mantine/core";
import type { ReactNode } from "react";

/** What an empty list shows: why it is empty and what to do next. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Paper withBorder p="xl" radius="md">
      <Stack align="center" gap="xs">
        <Text fw={600}>{title}</Text>
        {children && (
          <Text size="sm" c="gray.7" ta="center" component="div">
            {children}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
