import { fileURLToPath, URL } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `make web` serves the app with hot reload and sends API calls to the API `make dev` runs.
const api = process.env.FIRMFLOW_API_URL ?? "http://127.0.0.1:8000";
const proxied = ["/v1", "/ready", "/health", "/metrics"];

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: {
    host: "127.0.0.1",
    port: 5173,
    // The API accepts a cookie-signed change only from its own origin (the CSRF check): the
    // proxy presents the page's requests as coming from it, on this developer's machine only.
    proxy: Object.fromEntries(
      proxied.map((path) => [
        path,
        {
          target: api,
          configure: (proxy) => {
            proxy.on("proxyReq", (request) => {
              if (request.getHeader("origin")) request.setHeader("origin", api);
            });
          },
        },
      ]),
    ),
  },
  build: {
    outDir: process.env.FIRMFLOW_WEB_OUT ?? "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
    rolldownOptions: {
      output: {
        // Libraries every screen needs load with the shell; the rest split by route.
        codeSplitting: {
          groups: [
            // use-sync-external-store is React's shim that the router and recharts share: a
            // group takes its modules' dependencies along, so left out here it lands in the
            // charts chunk, and the shell then preloads all of recharts (+138 KB gzip).
            {
              name: "react",
              test: /node_modules[\\/](react|react-dom|scheduler|use-sync-external-store)[\\/]/,
            },
            { name: "mantine", test: /node_modules[\\/]@mantine[\\/](core|hooks)[\\/]/ },
            { name: "charts", test: /node_modules[\\/](recharts|@mantine[\\/]charts|d3-|victory)/ },
          ],
        },
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
