// The Largest Contentful Paint of pages of the app, as headless Chromium reports it through
// the Performance API; run by bench/web_app.py (which starts the platform and fills the firm):
//
//   node bench/lcp.mjs <base url> <email> <password> <loads> <path> [<path>…]
//
// Signs in once through the API, then loads each path <loads> times, each in a new browser
// context (an empty HTTP cache, the session cookie only), and prints one JSON line per load:
// {"path", "lcp_ms", "dom_content_loaded_ms", "first_api_call_ms", "last_api_answer_ms",
// "api_calls": [{"path", "ms"}], "element", "rows"}. Plain JavaScript: node runs it without a build step.
import { chromium, request } from "@playwright/test";

const [base, email, password, loadsText, ...paths] = process.argv.slice(2);
const loads = Number(loadsText);
if (!base || !email || !password || !(loads > 0) || paths.length === 0) {
  console.error("usage: node bench/lcp.mjs <base url> <email> <password> <loads> <path>…");
  process.exit(2);
}
const PAGE_TIMEOUT_MS = 30_000;

/** The session cookies of a sign-in through the API, for each fresh browser context. */
async function signedIn() {
  const api = await request.newContext({ baseURL: base });
  const answer = await api.post("/v1/auth/login", { data: { email, password } });
  if (!answer.ok()) throw new Error(`sign-in failed: ${answer.status()} ${await answer.text()}`);
  const state = await api.storageState();
  await api.dispose();
  return state;
}

/**
 * The last largest-contentful-paint entry once the page went quiet: the browser emits a new
 * candidate each time a larger element paints, so the last one is the page's LCP.
 */
function largestPaint() {
  return new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      const last = entries[entries.length - 1];
      const element = last.element;
      const [navigation] = performance.getEntriesByType("navigation");
      const api = performance
        .getEntriesByType("resource")
        .filter((entry) => new URL(entry.name).pathname.startsWith("/v1/"));
      resolve({
        lcp_ms: last.startTime,
        dom_content_loaded_ms: navigation ? navigation.domContentLoadedEventEnd : null,
        last_api_answer_ms: api.length ? Math.max(...api.map((entry) => entry.responseEnd)) : null,
        first_api_call_ms: api.length ? Math.min(...api.map((entry) => entry.startTime)) : null,
        api_calls: api.map((entry) => ({
          path: new URL(entry.name).pathname,
          ms: entry.responseEnd - entry.startTime,
        })),
        element: element ? `${element.tagName.toLowerCase()} "${(element.textContent ?? "").trim().slice(0, 40)}"` : null,
        rows: document.querySelectorAll("table tbody tr").length,
      });
    }).observe({ type: "largest-contentful-paint", buffered: true });
    // No entry at all (nothing painted): report that rather than wait for ever.
    setTimeout(() => resolve({ lcp_ms: null, element: null, rows: 0 }), 2_000);
  });
}

const browser = await chromium.launch({
  executablePath: process.env.FIRMFLOW_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
  headless: true,
});
try {
  const storageState = await signedIn();
  for (const path of paths) {
    for (let load = 0; load < loads; load += 1) {
      const context = await browser.newContext({
        baseURL: base,
        storageState,
        viewport: { width: 1280, height: 800 },
      });
      const page = await context.newPage();
      await page.goto(path, { waitUntil: "networkidle", timeout: PAGE_TIMEOUT_MS });
      const measured = await page.evaluate(largestPaint);
      console.log(JSON.stringify({ path, url: page.url(), ...measured }));
      await context.close();
    }
  }
} finally {
  await browser.close();
}
