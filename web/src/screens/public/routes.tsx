/** Pages anyone may open (the client's invoice). */
export const publicRoutes = [] as const;
