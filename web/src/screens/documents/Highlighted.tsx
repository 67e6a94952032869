import { Mark } from "@mantine/core";

import { highlightSegments } from "./highlight";

/** A search snippet with its matches marked; rendered as text segments, never as HTML. */
export function Highlighted({ snippet }: { snippet: string }) {
  return (
    <>
      {highlightSegments(snippet).map((segment, index) =>
        segment.marked ? (
          <Mark key={index} color="yellow">
            {segment.text}
          </Mark>
        ) : (
          <span key={index}>{segment.text}</span>
        ),
      )}
    </>
  );
}
