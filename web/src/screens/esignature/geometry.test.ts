import { describe, expect, it } from "vitest";

import {
  centred,
  clampToPage,
  defaultSize,
  dropAt,
  minimumSize,
  moveBy,
  resizeBy,
  shownSize,
  toFractions,
  toPercent,
  toPixels,
} from "./geometry";

const LETTER = { width: 612, height: 792 };
const SHOWN = { width: 800, height: 1000 };

describe("pixels and fractions", () => {
  it("round-trips a box through a preview", () => {
    const box = { x: 0.1, y: 0.25, width: 0.3, height: 0.05 };
    const pixels = toPixels(box, SHOWN);
    expect(pixels).toEqual({ x: 80, y: 250, width: 240, height: 50 });
    expect(toFractions(pixels, SHOWN)).toEqual(box);
  });

  it("keeps a page's proportions at any width", () => {
    expect(shownSize(LETTER, 612)).toEqual(LETTER);
    expect(shownSize({ width: 842, height: 595 }, 842 * 2).height).toBe(1190);
  });
});

describe("clampToPage", () => {
  it("moves a box that sticks out back onto the page", () => {
    expect(clampToPage({ x: 0.9, y: -0.2, width: 0.3, height: 0.1 })).toEqual({ x: 0.7, y: 0, width: 0.3, height: 0.1 });
  });

  it("shrinks a box larger than the page, and grows one below the minimum", () => {
    expect(clampToPage({ x: 0.5, y: 0.5, width: 2, height: 0 }, { width: 0.02, height: 0.02 })).toEqual({
      x: 0,
      y: 0.5,
      width: 1,
      height: 0.02,
    });
  });

  it("rounds away float noise", () => {
    expect(clampToPage({ x: 0.1 + 0.2, y: 0, width: 0.1, height: 0.1 }).x).toBe(0.3);
  });
});

describe("placing fields", () => {
  it("sizes a new field in points, so it looks alike on any page", () => {
    const size = defaultSize("signature", LETTER);
    expect(size.width).toBeCloseTo(180 / 612);
    expect(size.height).toBeCloseTo(40 / 792);
  });

  it("drops a field where the chip was let go, kept on the page", () => {
    const size = { width: 0.25, height: 0.05 };
    expect(dropAt({ x: 400, y: 500 }, size, SHOWN, minimumSize(LETTER))).toEqual({ x: 0.5, y: 0.5, width: 0.25, height: 0.05 });
    expect(dropAt({ x: 790, y: -40 }, size, SHOWN, minimumSize(LETTER))).toEqual({ x: 0.75, y: 0, width: 0.25, height: 0.05 });
  });

  it("centres a field added without dragging", () => {
    expect(centred({ width: 0.2, height: 0.1 })).toEqual({ x: 0.4, y: 0.45, width: 0.2, height: 0.1 });
  });

  it("moves by pixels of the preview, never off the page", () => {
    const box = { x: 0.1, y: 0.1, width: 0.2, height: 0.1 };
    expect(moveBy(box, 80, 100, SHOWN)).toEqual({ x: 0.2, y: 0.2, width: 0.2, height: 0.1 });
    expect(moveBy(box, -500, 5000, SHOWN)).toEqual({ x: 0, y: 0.9, width: 0.2, height: 0.1 });
  });

  it("resizes from the bottom-right corner between the minimum and the page's edge", () => {
    const box = { x: 0.5, y: 0.5, width: 0.2, height: 0.1 };
    const minimum = minimumSize(LETTER);
    expect(resizeBy(box, 80, 100, SHOWN, minimum)).toEqual({ x: 0.5, y: 0.5, width: 0.3, height: 0.2 });
    expect(resizeBy(box, 4000, 4000, SHOWN, minimum)).toEqual({ x: 0.5, y: 0.5, width: 0.5, height: 0.5 });
    const shrunk = resizeBy(box, -4000, -4000, SHOWN, minimum);
    expect(shrunk.width).toBeCloseTo(10 / 612, 5);
    expect(shrunk.height).toBeCloseTo(10 / 792, 5);
  });

  it("shows fractions as percentages", () => {
    expect(toPercent(0.123456)).toBe(12.35);
  });
});
