import { Button } from "@mantine/core";
import { getRouteApi, Link } from "@tanstack/react-router";

import { DocumentLibrary } from "./DocumentLibrary";
import type { LibrarySearch } from "./search";
import { PageHeader } from "@/components/PageHeader";

const route = getRouteApi("/app/documents");

export function DocumentsPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const change = (patch: Partial<LibrarySearch>) =>
    void navigate({ search: (previous) => ({ ...previous, ...patch }), replace: true });

  return (
    <>
      <PageHeader
        title="Documents"
        description="The firm's files: every upload is a version, kept and reviewed here."
        actions={
          <>
            <Button variant="default" component={Link} to="/documents/search">
              Search documents
            </Button>
            <Button variant="default" component={Link} to="/settings/documents">
              Retention and settings
            </Button>
          </>
        }
      />
      <DocumentLibrary search={search} onChange={change} />
    </>
  );
}
