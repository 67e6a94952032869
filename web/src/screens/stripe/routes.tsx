/** Pages of this area under the signed-in layout. */
export const appRoutes = [] as const;
