import { test, expect, signIn, hydrated, DEMO, openAddCredit } from "./fixtures";
import type { Page, Response } from "@playwright/test";
import { gzipSync } from "node:zlib";

/**
 * What a page fetches of the browser bundle: the main module (with the islands every
 * customer page or the Overview holds), the split loader and the pieces (`split_*.wasm`:
 * one per lazy island, one for the Add credit dialog's steps; `chunk_*.wasm`: code
 * several pieces share), with each file's gzip -9 size.
 */
function watchBundle(page: Page) {
  const files = new Map<string, Promise<number>>();
  page.on("response", (r: Response) => {
    const name = new URL(r.url()).pathname.split("/").pop() ?? "";
    if (!/\.(wasm|js)$/.test(name) || files.has(name)) return;
    files.set(name, r.body().then((b) => gzipSync(b, { level: 9 }).length));
  });
  return {
    pieces: () => [...files.keys()].filter((f) => f.startsWith("split_")).sort(),
    gzipBytes: async () => (await Promise.all(files.values())).reduce((a, b) => a + b, 0),
    count: () => files.size,
  };
}

test("a customer's first page fetches no piece of the bundle; the dialog's steps come when it opens, another page's islands on that page", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  // A fresh load of the Overview, with nothing cached: what a returning customer's
  // first page costs.
  const fresh = await browser.newContext({ storageState: await context.storageState() });
  const first = await fresh.newPage();
  const bundle = watchBundle(first);
  await first.goto("/billing");
  await hydrated(first);
  await expect(first.getByRole("heading", { name: "Overview", exact: true })).toBeVisible();

  expect(bundle.pieces()).toEqual([]);
  const firstPage = await bundle.gzipBytes();
  console.log(`first page (Overview): ${bundle.count()} files, ${firstPage} bytes gzip -9`);
  // The goal (issue 13): what the first page loads stays under 250 KB gzip.
  expect(firstPage).toBeLessThan(250_000);

  await openAddCredit(first);
  await expect(first.getByRole("dialog").getByRole("heading", { name: "Amount" })).toBeVisible();
  expect(bundle.pieces()).toContainEqual(expect.stringMatching(/^split_flow_\d+\.wasm$/));

  // Another page, reached by its tab: its islands' pieces, fetched as preloads (the
  // server named their files in the head: initiator "link"), not later by the loader.
  await first.getByRole("button", { name: "Close" }).click();
  await first.getByRole("navigation", { name: "Billing sections" }).getByRole("link", { name: "Credit History" }).click();
  await expect(first.getByRole("table", { name: "Credit history" })).toBeVisible();
  await hydrated(first);
  expect(bundle.pieces()).toContainEqual(expect.stringMatching(/^split_history_filters_loader_\d+\.wasm$/));
  const initiators = await first.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => /\/split_history_filters_loader_\d+\.wasm$/.test(e.name))
      .map((e) => (e as PerformanceResourceTiming).initiatorType),
  );
  expect(initiators).toEqual(["link"]);
  await fresh.close();
  await context.close();
});
