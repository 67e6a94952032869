import { defineConfig } from "@playwright/test";

// The stack (tests/browser/stack.py) says where the app and the test harness listen.
const baseURL = process.env.FIRMFLOW_WEB_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  testDir: "./e2e",
  // Two cores run the platform and the browser: two specs at a time use them well.
  workers: Number(process.env.FIRMFLOW_BROWSER_WORKERS ?? 2),
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL,
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.FIRMFLOW_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
  },
});
