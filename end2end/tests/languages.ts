import fs from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";

/** The translations as the app has them (app/locales), so tests find controls by the
 *  words each language's reader sees. */
type Tree = { [key: string]: string | Tree };
const load = (language: string): Tree =>
  JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "app", "locales", `${language}.json`), "utf8"));

export const LANGUAGES = ["vi", "ja"] as const;
export type Language = "en" | (typeof LANGUAGES)[number];

/** `t("vi", "history.title")`; `{{ name }}` filled from `vars`. */
export function t(language: Language, key: string, vars: Record<string, string | number> = {}): string {
  let node: string | Tree = load(language);
  for (const part of key.split(".")) {
    const next: string | Tree | undefined = typeof node === "string" ? undefined : (node[part] ?? node[`${part}_other`]);
    if (next === undefined) throw new Error(`no ${key} in ${language}`);
    node = next;
  }
  if (typeof node !== "string") throw new Error(`${key} is not a text in ${language}`);
  return node.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name) => String(vars[name] ?? `{{ ${name} }}`));
}

/** The browser locale each language's readers have. */
export const BROWSER_LOCALE: Record<Language, string> = { en: "en-US", vi: "vi-VN", ja: "ja-JP" };

/** Controls whose text does not fit their box, and whether the page scrolls sideways. */
export async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    // Text kept only for screen readers (a clipped 1 px box, as a phone's table headings).
    const forScreenReaders = (el: HTMLElement) => {
      for (let e: HTMLElement | null = el; e; e = e.parentElement) {
        const r = e.getBoundingClientRect();
        if (getComputedStyle(e).clipPath !== "none" || (r.width <= 1 && r.height <= 1)) return true;
      }
      return false;
    };
    if (document.documentElement.scrollWidth > window.innerWidth + 1) found.push("the page scrolls sideways");
    for (const el of Array.from(document.querySelectorAll<HTMLElement>("button, a, label, select, th, td, dt, dd, h1, h2, h3, legend"))) {
      const style = getComputedStyle(el);
      if (style.display === "none" || style.visibility === "hidden" || el.getClientRects().length === 0) continue;
      const box = el.getBoundingClientRect();
      if (forScreenReaders(el)) continue;
      if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== "auto" && style.overflowX !== "scroll") {
        found.push(`${el.tagName.toLowerCase()} "${el.textContent?.trim().slice(0, 40)}" is cut`);
      } else if (box.right > window.innerWidth + 1) {
        found.push(`${el.tagName.toLowerCase()} "${el.textContent?.trim().slice(0, 40)}" runs off the screen`);
      }
    }
    return found;
  });
}

/** `text` as a regular expression that matches it literally. */
export function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
