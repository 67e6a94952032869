/**
 * Where a field sits on a page: fractions of the page's width and height from its top-left
 * corner, as the API stores them, so a placement made on an 800-pixel preview lands in the
 * same spot on the PDF and on the signer's screen of any size.
 */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

export const FIELD_KINDS = ["signature", "initials", "date_signed", "text", "checkbox"] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

export const FIELD_LABELS: Record<FieldKind, string> = {
  signature: "Signature",
  initials: "Initials",
  date_signed: "Date signed",
  text: "Text",
  checkbox: "Checkbox",
};

// A field's size when first placed, in PDF points (1/72 inch): what a hand-signed form
// leaves for each, so fields look alike on a letter page and on an A4 one.
const DEFAULT_POINTS: Record<FieldKind, Size> = {
  signature: { width: 180, height: 40 },
  initials: { width: 60, height: 36 },
  date_signed: { width: 110, height: 20 },
  text: { width: 160, height: 20 },
  checkbox: { width: 16, height: 16 },
};

// Smaller than this a signer cannot hit or read a field; the page's edges bound it above.
const MIN_POINTS = 10;

const clamp = (value: number, low: number, high: number) => Math.min(Math.max(value, low), high);

/** A fraction of the page, rounded to what a PDF point can show (no float noise sent to the API). */
export function tidy(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** The smallest width and height a field may have on this page, as fractions. */
export function minimumSize(page: Size): Size {
  return { width: MIN_POINTS / page.width, height: MIN_POINTS / page.height };
}

/** A new field of ``kind`` on a page of ``page`` points, its size in fractions. */
export function defaultSize(kind: FieldKind, page: Size): Size {
  const points = DEFAULT_POINTS[kind];
  return { width: Math.min(points.width / page.width, 1), height: Math.min(points.height / page.height, 1) };
}

/** The box inside the page: no wider or taller than the page, then moved back onto it. */
export function clampToPage(box: Box, minimum: Size = { width: 0.001, height: 0.001 }): Box {
  const width = clamp(box.width, minimum.width, 1);
  const height = clamp(box.height, minimum.height, 1);
  return {
    x: tidy(clamp(box.x, 0, 1 - width)),
    y: tidy(clamp(box.y, 0, 1 - height)),
    width: tidy(width),
    height: tidy(height),
  };
}

/** Pixels on a preview ``shown`` pixels large → fractions of the page. */
export function toFractions(pixels: Box, shown: Size): Box {
  return {
    x: pixels.x / shown.width,
    y: pixels.y / shown.height,
    width: pixels.width / shown.width,
    height: pixels.height / shown.height,
  };
}

/** Fractions of the page → pixels on a preview ``shown`` pixels large. */
export function toPixels(box: Box, shown: Size): Box {
  return {
    x: box.x * shown.width,
    y: box.y * shown.height,
    width: box.width * shown.width,
    height: box.height * shown.height,
  };
}

/** The box moved by ``dx``, ``dy`` pixels of a ``shown``-pixel preview, kept on the page. */
export function moveBy(box: Box, dx: number, dy: number, shown: Size): Box {
  return clampToPage({ ...box, x: box.x + dx / shown.width, y: box.y + dy / shown.height });
}

/**
 * The box's bottom-right corner dragged by ``dx``, ``dy`` pixels: the top-left corner stays,
 * the size stays between the minimum and the page's edge.
 */
export function resizeBy(box: Box, dx: number, dy: number, shown: Size, minimum: Size): Box {
  const width = clamp(box.width + dx / shown.width, minimum.width, 1 - box.x);
  const height = clamp(box.height + dy / shown.height, minimum.height, 1 - box.y);
  return clampToPage({ ...box, width, height }, minimum);
}

/**
 * A new field dropped with its top-left corner at ``corner`` pixels from the page's top-left
 * corner (where the dragged palette chip was let go), kept on the page.
 */
export function dropAt(corner: { x: number; y: number }, size: Size, shown: Size, minimum: Size): Box {
  return clampToPage({ x: corner.x / shown.width, y: corner.y / shown.height, ...size }, minimum);
}

/** The height of a page shown ``width`` pixels wide, keeping its proportions. */
export function shownSize(page: Size, width: number): Size {
  return { width, height: (width * page.height) / page.width };
}

/** Where a field is put when added without dragging (a click or Enter): the page's centre. */
export function centred(size: Size): Box {
  return clampToPage({ x: (1 - size.width) / 2, y: (1 - size.height) / 2, ...size });
}

/** A percentage for an input ("12.5" for 0.125), and back. */
export function toPercent(fraction: number): number {
  return Math.round(fraction * 10000) / 100;
}

export function fromPercent(percent: number): number {
  return percent / 100;
}
