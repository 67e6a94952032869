import { Button, Center } from "@mantine/core";

interface Props {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** The foot of a cursor-paged list (useInfiniteQuery): the next page on demand. */
export function LoadMore({ hasNextPage, isFetchingNextPage, fetchNextPage }: Props) {
  if (!hasNextPage) return null;
  return (
    <Center mt="md">
      <Button variant="default" onClick={() => fetchNextPage()} loading={isFetchingNextPage}>
        Load more
      </Button>
    </Center>
  );
}

/** The items of every page fetched so far. */
export function allItems<T>(pages: { items: T[] }[] | undefined): T[] {
  return pages?.flatMap((page) => page.items) ?? [];
}
