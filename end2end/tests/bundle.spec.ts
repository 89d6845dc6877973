import { test, expect, signIn, hydrated, DEMO, openAddCredit } from "./fixtures";
import type { Page, Response } from "@playwright/test";
import { gzipSync } from "node:zlib";

/**
 * What a page fetches of the browser bundle: the main module, the split loader and the
 * pieces (`split_*.wasm`: one per page and one for the Add credit dialog's steps;
 * `chunk_*.wasm`: code several pieces share), with each file's gzip -9 size.
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

test("a customer's first page fetches only its own piece of the bundle; the dialog's steps come when it opens", async ({ browser }) => {
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

  expect(bundle.pieces()).toEqual([expect.stringMatching(/^split___overview_view_\d+\.wasm$/)]);
  // The server named the piece's files in the head, so the browser fetched them as
  // preloads (initiator "link") beside the main module, not later from the split
  // loader (initiator "fetch").
  const initiators = await first.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((e) => /\/split___overview_view_\d+\.wasm$/.test(e.name))
      .map((e) => (e as PerformanceResourceTiming).initiatorType),
  );
  expect(initiators).toEqual(["link"]);
  const firstPage = await bundle.gzipBytes();
  console.log(`first page (Overview): ${bundle.count()} files, ${firstPage} bytes gzip -9`);
  // A guard against regressions a little above today's figure (389 KB; docs/benchmarks.md),
  // not the goal. The build is the same in every clone (scripts/release-build.sh), but
  // the splitter's share for the main module moves by ~8% with the data section's
  // layout, so a change anywhere may move this figure: look before raising it.
  expect(firstPage).toBeLessThan(400_000);

  await openAddCredit(first);
  await expect(first.getByRole("dialog").getByRole("heading", { name: "Amount" })).toBeVisible();
  expect(bundle.pieces()).toContainEqual(expect.stringMatching(/^split_flow_\d+\.wasm$/));

  // Another page, reached by its tab: its own piece, fetched then.
  await first.getByRole("button", { name: "Close" }).click();
  await first.getByRole("navigation", { name: "Billing sections" }).getByRole("link", { name: "Credit History" }).click();
  await expect(first.getByRole("table", { name: "Credit history" })).toBeVisible();
  expect(bundle.pieces()).toContainEqual(expect.stringMatching(/^split___credit_history_view_\d+\.wasm$/));
  await fresh.close();
  await context.close();
});
