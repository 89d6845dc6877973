import { test as base, expect, type Page, type APIRequestContext } from "@playwright/test";
import { execFileSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..");

/** Runs an operator subcommand of the server against the end-to-end database. */
export function cli(...args: string[]): string {
  return execFileSync(path.join(root, "target", process.env.E2E_PROFILE ?? "release", "server"), args, {
    env: { ...process.env, DATA_DIR: path.join(root, "end2end", ".data"), RUST_LOG: "warn" },
    encoding: "utf8",
  }).trim();
}

export const DEMO = "demo@example.com";
export const SECOND = "second@example.com";
export const NEW = "new@example.com";
export const PASSWORD = "demo-password";
export const API_KEY = "demo-metering-key";

/** `6776500` → `6.776.500 ₫`, as a Vietnamese reader writes đồng. */
export function vnd(plain: string): string {
  return plain.replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";
}

/** The account's balances as the usage API reports them (the ledger's figures). */
export async function apiBalance(request: APIRequestContext, accountId: string) {
  const response = await request.get(`/api/v1/accounts/${accountId}/balance`, {
    headers: { Authorization: `Bearer ${API_KEY}` },
  });
  expect(response.status()).toBe(200);
  return (await response.json()) as { total: string; top_up: string; voucher: string; currency: string };
}

/** Waits until the page has hydrated, so clicks reach Leptos rather than the bare HTML. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto("/sign-in");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Every test fails if the browser console reports an error or a hydration warning. */
export const test = base.extend<{ consoleProblems: string[] }>({
  consoleProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on("console", (message) => {
        const text = message.text();
        const failedResource = text.startsWith("Failed to load resource");
        if ((message.type() === "error" && !failedResource) || /hydrat/i.test(text)) {
          problems.push(`${message.type()}: ${text}`);
        }
      });
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      await use(problems);
      expect(problems, "browser console problems").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
