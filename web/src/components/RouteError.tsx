import { Button, Stack, Title } from "@mantine/core";
import type { ErrorComponentProps } from "@tanstack/react-router";

import { ProblemAlert } from "./ProblemAlert";

export function RouteError({ error, reset }: ErrorComponentProps) {
  return (
    <Stack p="md" maw={640}>
      <Title order={1}>This page could not load</Title>
      <ProblemAlert error={error} />
      <Button variant="default" w="fit-content" onClick={reset}>
        Try again
      </Button>
    </Stack>
  );
}
