import AxeBuilder from "@axe-core/playwright";
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

/** Fails on any serious or critical axe violation, naming the rule and the elements. */
export async function accessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(bad, `${what}: axe violations`).toEqual([]);
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

/** The Add credit dialog. */
export const dialog = (page: Page) => page.getByRole("dialog");

export async function openAddCredit(page: Page) {
  await hydrated(page);
  await page.getByRole("button", { name: "Add credit" }).click();
  await expect(dialog(page)).toBeVisible();
}

export async function fillSettings(page: Page, o: { name: string; country: string; currency?: string }) {
  const d = dialog(page);
  await expect(d.getByRole("heading", { name: "Billing settings" })).toBeVisible();
  // "…cannot be changed later." for a new account; "Fixed: …" for one that holds a currency.
  await expect(d.getByText(/the currency cannot be changed/i)).toBeVisible();
  await d.getByLabel("Full name").fill(o.name);
  await d.getByLabel("Address").fill("1 Example Street, Example City");
  await d.getByLabel("Country").selectOption({ label: o.country });
  if (o.currency) await d.getByLabel("Currency").selectOption(o.currency);
  await d.getByRole("button", { name: "Continue" }).click();
}

/** Amount (a preset button or a typed amount) → method → confirm → Pay. */
export async function payThrough(page: Page, o: { preset?: string; custom?: string; method: string; pay: string }) {
  const d = dialog(page);
  await expect(d.getByRole("heading", { name: "Amount" })).toBeVisible();
  if (o.preset) await d.getByText(o.preset, { exact: true }).click();
  if (o.custom) await d.getByLabel(/Custom amount/).fill(o.custom);
  await d.getByRole("button", { name: "Continue" }).click();
  await expect(d.getByRole("heading", { name: "Payment method" })).toBeVisible();
  await expect(d.getByRole("radio", { name: new RegExp(o.method) })).toBeChecked();
  await d.getByRole("button", { name: "Continue" }).click();
  await expect(d.getByRole("heading", { name: "Confirm" })).toBeVisible();
  await d.getByLabel("I understand that credits purchased are non-refundable.").check();
  await d.getByRole("button", { name: o.pay }).click();
}

/** On the sandbox's hosted page: check what is paid, then press a button. */
export async function atGateway(page: Page, provider: string, amount: string, button: "Pay" | "Cancel" | "Fail") {
  await expect(page.getByRole("heading", { name: `${provider} sandbox` })).toBeVisible();
  await expect(page.getByText(amount, { exact: true })).toBeVisible();
  await page.getByRole("button", { name: button, exact: true }).click();
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
