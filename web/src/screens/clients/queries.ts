import { queryOptions } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";

export type Client = components["schemas"]["ClientRead"];
export type Contact = components["schemas"]["ContactRead"];
export type ClientImport = components["schemas"]["ClientImportRead"];
export type ImportReport = components["schemas"]["ClientImportReportRead"];

/** Every query of this area starts with one of these, so a change invalidates the right ones. */
export const keys = {
  clients: ["clients"] as const,
  client: (clientId: string) => ["clients", "one", clientId] as const,
  imports: ["client-imports"] as const,
  importReport: (importId: string) => ["client-imports", "one", importId] as const,
};

export function clientQuery(clientId: string) {
  return queryOptions({
    queryKey: keys.client(clientId),
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: clientId } } })),
  });
}

/** An import still changes while it is pending or running. */
export function isImportRunning(status: ClientImport["status"]): boolean {
  return status === "pending" || status === "running";
}

export function importReportQuery(importId: string) {
  return queryOptions({
    queryKey: keys.importReport(importId),
    queryFn: async () =>
      data(
        await api.GET("/v1/clients/imports/{import_id}", {
          params: { path: { import_id: importId } },
        }),
      ),
    // Poll while the workflow works through the rows, then stop.
    refetchInterval: (query) => {
      const report = query.state.data;
      return report && !isImportRunning(report.status) ? false : 500;
    },
  });
}
