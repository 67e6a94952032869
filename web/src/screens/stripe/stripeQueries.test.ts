import { describe, expect, it } from "vitest";

import { webhookUrl } from "./stripeQueries";

describe("webhookUrl", () => {
  it("is the firm's endpoint on this site", () => {
    expect(webhookUrl("https://app.example.com", "f1")).toBe("https://app.example.com/v1/webhooks/stripe/f1");
    expect(webhookUrl("http://127.0.0.1:8000/", "f2")).toBe("http://127.0.0.1:8000/v1/webhooks/stripe/f2");
  });
});
