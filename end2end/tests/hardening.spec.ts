import { test, expect, signIn, hydrated, cli, vnd, DEMO, PASSWORD } from "./fixtures";

test("the sixth wrong password is refused even with the right one, and says when to try again", async ({ page }) => {
  cli("create-user", "--email", "guessed@example.com", "--password", PASSWORD);
  for (let i = 0; i < 5; i++) {
    const answered = page.waitForResponse((r) => r.url().endsWith("/rpc/sign_in"));
    await signIn(page, "guessed@example.com", `wrong-guess-${i}`);
    expect((await answered).status()).toBe(401);
    await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  }
  const answered = page.waitForResponse((r) => r.url().endsWith("/rpc/sign_in"));
  await signIn(page, "guessed@example.com", PASSWORD);
  expect((await answered).status()).toBe(429);
  await expect(page.getByRole("alert")).toHaveText("Too many attempts, try again in 15 minutes.");
  await page.goto("/billing");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("mistakes are answered as mistakes: 4xx with the message, never 500", async ({ page }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
  const rpc = (name: string, form: Record<string, string>) =>
    page.request.post(`/rpc/${name}`, { form, failOnStatusCode: false });

  const endBeforeStart = await rpc("credit_history", { query: "from=2026-02-01&to=2026-01-01" });
  expect(endBeforeStart.status()).toBe(422);
  // The problem comes worded in the reader's language (English here), as the page shows it.
  expect(JSON.parse(await endBeforeStart.text())).toEqual({
    Invalid: { field: "filter", problem: "The end date must be on or after the start date." },
  });

  const badCursor = await rpc("credit_history", { query: "after=not-a-cursor" });
  expect(badCursor.status()).toBe(422);

  const hugePage = await rpc("payment_history", { query: "size=100000" });
  expect(hugePage.status()).toBe(422);

  const belowMinimum = await rpc("start_top_up", {
    amount: "1000",
    client_token: "t-below-minimum",
    consent: "non-refundable-2026-11",
  });
  expect(belowMinimum.status()).toBe(422);
  expect(JSON.parse(await belowMinimum.text())).toEqual({
    Invalid: { field: "amount", problem: `The minimum top-up is ${vnd("500000")}.` },
  });

  const longToken = await rpc("start_top_up", {
    amount: "500000",
    client_token: "x".repeat(65),
    consent: "non-refundable-2026-11",
  });
  expect(longToken.status()).toBe(400);

  const missingArgument = await rpc("start_top_up", {});
  expect(missingArgument.status()).toBe(400);

  const oversized = await page.request.post("/rpc/sign_in", {
    form: { email: DEMO, password: "p".repeat(200_000) },
    failOnStatusCode: false,
  });
  expect(oversized.status()).toBe(413);
});

test("Pay without the non-refundable consent is refused by the server and nothing starts", async ({ page }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await page.goto("/billing/payments");
  await hydrated(page);
  const rows = page.getByRole("table", { name: "Payment history" }).getByRole("row");
  const before = await rows.count();
  const refused = await page.request.post("/rpc/start_top_up", {
    form: { amount: "500000", client_token: "no-consent-click" },
    failOnStatusCode: false,
  });
  expect(refused.status()).toBe(422);
  expect(JSON.parse(await refused.text())).toEqual({
    Invalid: { field: "consent", problem: "Please confirm that purchased credits are non-refundable." },
  });
  await page.reload();
  await hydrated(page);
  await expect(rows).toHaveCount(before);
});

test("pages carry a nonce-based Content-Security-Policy and cannot be framed", async ({ page }) => {
  const signInPage = await page.goto("/sign-in");
  const headers = signInPage!.headers();
  const csp = headers["content-security-policy"];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  // The page still hydrates under the policy (a refused script would be a console error).
  await hydrated(page);
  const api = await page.request.get("/healthz");
  expect(api.headers()["content-security-policy"]).toBe("frame-ancestors 'none'");
});

test("an operator has no billing pages: the page and its server functions refuse", async ({ page }) => {
  await signIn(page, "admin@example.com");
  // Operators start in their console.
  await expect(page).toHaveURL(/\/ops$/);
  const billing = await page.goto("/billing");
  expect(billing!.status()).toBe(403);
  await hydrated(page);
  await expect(page.getByRole("alert")).toHaveText("You do not have access to this.");
  await expect(page.getByRole("button", { name: "Add credit" })).toHaveCount(0);
  const history = await page.request.post("/rpc/credit_history", { form: { query: "" }, failOnStatusCode: false });
  expect(history.status()).toBe(403);
  const reload = await page.goto("/billing/history");
  expect(reload!.status()).toBe(403);
});
