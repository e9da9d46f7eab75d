import { describe, expect, it } from "vitest";
import {
  escapeMarkdownV2,
  escapeMarkdownV2Truncated,
  TELEGRAM_MAX_MESSAGE_LENGTH,
} from "./escape-markdown-v2.js";

const RESERVED = "_*[]()~`>#+-=|{}.!";

describe("escapeMarkdownV2", () => {
  it("escapes every reserved character and the backslash", () => {
    for (const ch of `${RESERVED}\\`) expect(escapeMarkdownV2(ch)).toBe(`\\${ch}`);
  });

  it("leaves everything else alone, unicode included", () => {
    expect(escapeMarkdownV2("Ünïcödé 🚨 text, with: commas; colons? and 'quotes' \"too\" @user")).toBe(
      "Ünïcödé 🚨 text, with: commas; colons? and 'quotes' \"too\" @user",
    );
  });

  it("escapes realistic alert text so it renders literally", () => {
    expect(escapeMarkdownV2("Risk high: server-1.example.com down (5xx > 30%)! See https://x.io/a_b#c")).toBe(
      "Risk high: server\\-1\\.example\\.com down \\(5xx \\> 30%\\)\\! See https://x\\.io/a\\_b\\#c",
    );
  });

  it("round-trips: removing one backslash before each character gives the original", () => {
    const text = `a\\b ${RESERVED} *bold* _it_ [link](http://x) \`code\``;
    expect(escapeMarkdownV2(text).replace(/\\(.)/g, "$1")).toBe(text);
  });
});

describe("escapeMarkdownV2Truncated", () => {
  it("returns short text escaped and untouched otherwise", () => {
    expect(escapeMarkdownV2Truncated("a.b")).toBe("a\\.b");
  });

  it("keeps the escaped text within the limit without splitting an escape or a surrogate pair", () => {
    const out = escapeMarkdownV2Truncated(".".repeat(5_000));
    expect(out.length).toBeLessThanOrEqual(TELEGRAM_MAX_MESSAGE_LENGTH);
    expect(out.endsWith("…")).toBe(true);
    expect(out.slice(0, -1)).toMatch(/^(\\\.)+$/);
    const emoji = escapeMarkdownV2Truncated("😀".repeat(3_000), 11);
    expect(emoji).toBe("😀😀😀😀😀…");
  });
});
