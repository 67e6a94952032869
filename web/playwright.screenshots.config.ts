import { defineConfig } from "@playwright/test";

import suite from "./playwright.config";

// `make screenshots`: the same browser and stack as the suite, but only the capture file,
// which the suite's default match (*.spec.ts) leaves out. One worker: the captures share a
// firm and run in order.
export default defineConfig({
  ...suite,
  testMatch: "screenshots.capture.ts",
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  // Apart from the suite's: a suite run starting beside this one empties its own folder.
  outputDir: "test-results/screenshots",
  use: { ...suite.use, viewport: { width: 1280, height: 800 }, screenshot: "off", trace: "off" },
});
