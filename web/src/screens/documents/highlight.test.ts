import { describe, expect, it } from "vitest";

import { highlightSegments } from "./highlight";

describe("highlightSegments", () => {
  it("turns the API's marks into marked segments", () => {
    expect(highlightSegments("the <mark>annual</mark> tax <mark>return</mark>")).toEqual([
      { text: "the ", marked: false },
      { text: "annual", marked: true },
      { text: " tax ", marked: false },
      { text: "return", marked: true },
    ]);
  });

  it("unescapes the API's entities into plain text, never into markup", () => {
    expect(highlightSegments("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>R&amp;D</mark>")).toEqual([
      { text: '<script>alert("x")</script> & ', marked: false },
      { text: "R&D", marked: true },
    ]);
  });

  it("keeps any other tag as text", () => {
    expect(highlightSegments('<img src=x onerror="alert(1)"><MARK>no</MARK>')).toEqual([
      { text: '<img src=x onerror="alert(1)"><MARK>no</MARK>', marked: false },
    ]);
  });

  it("does not unescape twice", () => {
    expect(highlightSegments("&amp;lt;b&amp;gt;")).toEqual([{ text: "&lt;b&gt;", marked: false }]);
  });

  it("tolerates an unclosed mark and an empty snippet", () => {
    expect(highlightSegments("<mark>open")).toEqual([{ text: "open", marked: true }]);
    expect(highlightSegments("")).toEqual([]);
    expect(highlightSegments("<mark></mark>")).toEqual([]);
  });
});
