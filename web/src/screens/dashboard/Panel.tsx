import { Anchor, Group, Paper, Skeleton, Stack, Title } from "@mantine/core";
import { Link } from "@tanstack/react-router";
import { useId, type ReactNode } from "react";

interface Props {
  title: string;
  /** The screen this panel summarises, and what its link says. */
  to?: string;
  linkLabel?: string;
  children: ReactNode;
}

/** One dashboard panel: a titled section with a link to the screen behind it. */
export function Panel({ title, to, linkLabel, children }: Props) {
  const headingId = useId();
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={headingId}>
      <Group justify="space-between" mb="sm" wrap="nowrap">
        <Title order={2} size="h4" id={headingId}>
          {title}
        </Title>
        {to && (
          <Anchor component={Link} to={to} size="sm">
            {linkLabel}
          </Anchor>
        )}
      </Group>
      {children}
    </Paper>
  );
}

/** What a panel shows while its data is on the way: lines of the height it will take. */
export function PanelSkeleton({ lines = 3, height }: { lines?: number; height?: number }) {
  if (height) return <Skeleton height={height} aria-hidden />;
  return (
    <Stack gap="xs" aria-hidden>
      {Array.from({ length: lines }, (_, index) => (
        <Skeleton key={index} height={20} />
      ))}
    </Stack>
  );
}
