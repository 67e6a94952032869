import { describe, expect, it } from "vitest";

import { batchPercent, bytesOf, formatBytes, megabytes, progressPercent, quotaPercent, titleOfFile } from "./files";

describe("formatBytes", () => {
  it("reads as people read sizes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1 KB");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(20 * 1024 * 1024)).toBe("20 MB");
    expect(formatBytes(500 * 1024 * 1024)).toBe("500 MB");
    expect(formatBytes(1.25 * 1024 ** 3)).toBe("1.3 GB");
    expect(formatBytes(3 * 1024 ** 5)).toBe("3072 TB");
  });

  it("shows a dash for what is not a size", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

describe("progressPercent", () => {
  it("is the share sent, floored so 100 means done", () => {
    expect(progressPercent(0, 200)).toBe(0);
    expect(progressPercent(199, 200)).toBe(99);
    expect(progressPercent(200, 200)).toBe(100);
  });

  it("never leaves 0 to 100", () => {
    expect(progressPercent(300, 200)).toBe(100);
    expect(progressPercent(-5, 200)).toBe(0);
    expect(progressPercent(10, 0)).toBe(0);
    expect(progressPercent(10, Number.NaN)).toBe(0);
  });
});

describe("batchPercent", () => {
  it("weighs each file by its size", () => {
    expect(
      batchPercent([
        { size: 900, loaded: 900 },
        { size: 100, loaded: 0 },
      ]),
    ).toBe(90);
    expect(batchPercent([])).toBe(0);
    expect(batchPercent([{ size: 10, loaded: 50 }])).toBe(100);
  });
});

describe("titleOfFile", () => {
  it("drops the extension only", () => {
    expect(titleOfFile("Tax return 2025.pdf")).toBe("Tax return 2025");
    expect(titleOfFile("archive.tar.gz")).toBe("archive.tar");
    expect(titleOfFile(".env")).toBe(".env");
    expect(titleOfFile("README")).toBe("README");
  });
});

describe("megabytes and quotas", () => {
  it("converts both ways", () => {
    expect(megabytes(25 * 1024 * 1024)).toBe(25);
    expect(megabytes(null)).toBeNull();
    expect(bytesOf(1.5)).toBe(1572864);
    expect(bytesOf(undefined)).toBeNull();
  });

  it("says how much of a quota is used", () => {
    expect(quotaPercent(250, 1000)).toBe(25);
    expect(quotaPercent(2000, 1000)).toBe(100);
    expect(quotaPercent(5, null)).toBeNull();
    expect(quotaPercent(5, 0)).toBeNull();
  });
});
