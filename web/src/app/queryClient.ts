import { QueryClient } from "@tanstack/react-query";

import { ApiProblem } from "@/api/problem";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // A problem answer (4xx) will not change by asking again; a dropped connection may.
      retry: (failures, error) =>
        failures < 2 && !(error instanceof ApiProblem && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});
