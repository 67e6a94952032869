/** A piece of a highlighted snippet: plain text, or a match the search marked. */
export interface Segment {
  text: string;
  marked: boolean;
}

// The API escapes everything but its own <mark> tags; these are the escapes it writes.
const ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#x27;": "'",
  "&#39;": "'",
};

function unescape(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

/**
 * The search's highlighted snippet as text segments, each marked or not. Only the exact
 * `<mark>` and `</mark>` the API writes become marks; anything else stays text, shown as
 * typed (React escapes it), so a document's content can never become markup on the page.
 */
export function highlightSegments(snippet: string): Segment[] {
  const segments: Segment[] = [];
  let marked = false;
  for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") {
      marked = true;
    } else if (part === "</mark>") {
      marked = false;
    } else if (part !== "") {
      const text = unescape(part);
      const last = segments.at(-1);
      if (last && last.marked === marked) last.text += text;
      else segments.push({ text, marked });
    }
  }
  return segments;
}
