import { Anchor, Stack, Text, Title } from "@mantine/core";
import { Link } from "@tanstack/react-router";

export function NotFoundPage() {
  return (
    <Stack p="xl" component="main">
      <Title order={1}>Page not found</Title>
      <Text>Nothing is at this address. It may have moved, or the link may be incomplete.</Text>
      <Anchor component={Link} to="/">
        Go to the dashboard
      </Anchor>
    </Stack>
  );
}
