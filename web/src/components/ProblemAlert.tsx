import { Alert, List } from "@mantine/core";

import { ApiProblem, type ProblemItem } from "@/api/problem";

interface Props {
  error: unknown;
  /** Field errors shown beside their fields; the alert lists only the others. */
  unplaced?: ProblemItem[];
}

/** The problem an API call answered with: its title, its detail, and what no field shows. */
export function ProblemAlert({ error, unplaced }: Props) {
  if (!error) return null;
  if (!(error instanceof ApiProblem)) {
    return (
      <Alert color="red" title="Something went wrong" role="alert">
        The page could not finish this; reload it and try again.
      </Alert>
    );
  }
  const { problem } = error;
  const items = unplaced ?? problem.errors ?? [];
  return (
    <Alert color="red" title={problem.title} role="alert" data-testid="problem">
      {problem.detail}
      {error.retryAfterSeconds !== null && ` Try again in ${waitText(error.retryAfterSeconds)}.`}
      {items.length > 0 && (
        <List size="sm" mt="xs">
          {items.map((item, index) => (
            <List.Item key={index}>{item.detail}</List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}

export function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
