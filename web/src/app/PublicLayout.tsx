import { Anchor, Box, Container, Group, Text } from "@mantine/core";
import { Outlet } from "@tanstack/react-router";

export function PublicLayout() {
  return (
    <Box mih="100vh" bg="gray.0">
      <Container size="sm" py="xl">
        <Group justify="space-between" mb="lg" component="header">
          <Anchor href="/" fw={700} size="lg" underline="never" c="indigo.9">
            firmflow
          </Anchor>
        </Group>
        <main>
          <Outlet />
        </main>
        <Text component="footer" size="xs" c="gray.7" mt="xl" ta="center">
          firmflow — operations for professional-services firms
        </Text>
      </Container>
    </Box>
  );
}
