import { Title } from "@mantine/core";
import { useState } from "react";

import { DocumentLibrary } from "./DocumentLibrary";
import type { LibrarySearch } from "./search";

/** A client's documents, on the client's page: the library with the client fixed. */
export function ClientDocuments({ clientId }: { clientId: string }) {
  const [search, setSearch] = useState<LibrarySearch>({});
  return (
    <section aria-labelledby="client-documents">
      <Title order={2} size="h4" id="client-documents" mb="xs">
        Documents
      </Title>
      <DocumentLibrary
        clientId={clientId}
        search={search}
        onChange={(change) => setSearch((previous) => ({ ...previous, ...change }))}
      />
    </section>
  );
}
