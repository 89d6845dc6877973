import { test, expect, apiBalance, cli, DEMO, API_KEY } from "./fixtures";
import { randomUUID } from "node:crypto";

const auth = { Authorization: `Bearer ${API_KEY}` };

test.describe("usage API", () => {
  let account = "";
  test.beforeAll(() => {
    account = cli("account-id", "--email", DEMO);
  });

  const charge = (amount: string, extra: Record<string, unknown> = {}) => ({
    account_id: account,
    service: "ai_inference",
    resource: "inference-llama3-70b",
    description: "e2e tokens",
    amount,
    ...extra,
  });

  test("charges once per Idempotency-Key and replays the first answer", async ({ request }) => {
    const before = await apiBalance(request, account);
    const key = randomUUID();
    const first = await request.post("/api/v1/charges", {
      headers: { ...auth, "Idempotency-Key": key },
      data: charge("1000"),
    });
    expect(first.status()).toBe(201);
    const body = await first.json();
    expect(body.transactions.length).toBeGreaterThanOrEqual(1);
    expect(body.transactions.every((t: { status: string }) => t.status === "success")).toBe(true);
    expect(Number(body.balance.total)).toBe(Number(before.total) - 1000);

    const replay = await request.post("/api/v1/charges", {
      headers: { ...auth, "Idempotency-Key": key },
      data: charge("1000"),
    });
    expect(replay.status()).toBe(201);
    expect(replay.headers()["idempotent-replayed"]).toBe("true");
    expect(await replay.json()).toEqual(body);

    const reused = await request.post("/api/v1/charges", {
      headers: { ...auth, "Idempotency-Key": key },
      data: charge("2000"),
    });
    expect(reused.status()).toBe(422);
    expect((await reused.json()).error.field).toBe("Idempotency-Key");

    expect(Number((await apiBalance(request, account)).total)).toBe(Number(before.total) - 1000);
  });

  test("a charge above the balance is 402, records a Failed row, and deducts nothing", async ({ request }) => {
    const before = await apiBalance(request, account);
    const response = await request.post("/api/v1/charges", {
      headers: { ...auth, "Idempotency-Key": randomUUID() },
      data: charge(String(Number(before.total) + 1)),
    });
    expect(response.status()).toBe(402);
    const body = await response.json();
    expect(body.error.code).toBe("insufficient_balance");
    expect(body.error.message).toContain("Nothing was deducted");
    expect(body.transactions[0].status).toBe("failed");
    expect(await apiBalance(request, account)).toEqual(before);
  });

  test("bad input is refused with the field named, and records nothing", async ({ request }) => {
    const before = await apiBalance(request, account);
    const post = (data: unknown, headers: Record<string, string> = { ...auth, "Idempotency-Key": randomUUID() }) =>
      request.post("/api/v1/charges", { headers, data: typeof data === "string" ? data : JSON.stringify(data) });

    const cases: Array<[unknown, string]> = [
      ["{not json", "body"],
      [charge("10", { service: "bitcoin_mining" }), "service"],
      [charge("0"), "amount"],
      [charge("-5"), "amount"],
      [charge("10.5"), "amount"], // VND has no decimals
      [{ ...charge("10"), amount: 10 }, "amount"],
      [{ ...charge("10"), resource: undefined }, "resource"],
      [{ ...charge("10"), account_id: undefined }, "account_id"],
    ];
    for (const [data, field] of cases) {
      const response = await post(data);
      expect(response.status(), JSON.stringify(data)).toBe(400);
      const body = await response.json();
      expect(body.error.field).toBe(field);
      expect(body.error.message.length).toBeGreaterThan(5);
    }

    const noKey = await post(charge("10"), auth);
    expect(noKey.status()).toBe(400);
    expect((await noKey.json()).error.field).toBe("Idempotency-Key");

    const longKey = await post(charge("10"), { ...auth, "Idempotency-Key": "k".repeat(256) });
    expect(longKey.status()).toBe(400);

    const unauthenticated = await post(charge("10"), { "Idempotency-Key": randomUUID() });
    expect(unauthenticated.status()).toBe(401);
    const badKey = await post(charge("10"), { Authorization: "Bearer nope", "Idempotency-Key": randomUUID() });
    expect(badKey.status()).toBe(401);

    const unknown = await post(charge("10", { account_id: "00000000-0000-0000-0000-000000000000" }));
    expect(unknown.status()).toBe(404);
    expect((await unknown.json()).error.code).toBe("account_not_found");

    expect(await apiBalance(request, account)).toEqual(before);

    const balanceUnauthenticated = await request.get(`/api/v1/accounts/${account}/balance`);
    expect(balanceUnauthenticated.status()).toBe(401);
  });

  test("many clients charging at once never overdraw and every credit is accounted for", async ({ request }) => {
    const before = await apiBalance(request, account);
    const total = Number(before.total);
    // Ask for 1.5× the balance in 48 equal charges from concurrent clients.
    const each = Math.ceil((total * 1.5) / 48);
    const responses = await Promise.all(
      Array.from({ length: 48 }, () =>
        request.post("/api/v1/charges", {
          headers: { ...auth, "Idempotency-Key": randomUUID() },
          data: charge(String(each)),
        }),
      ),
    );
    const statuses = responses.map((r) => r.status());
    expect(statuses.every((s) => s === 201 || s === 402)).toBe(true);
    const charged = statuses.filter((s) => s === 201).length;
    expect(charged).toBe(Math.floor(total / each));
    const after = await apiBalance(request, account);
    expect(Number(after.total)).toBe(total - charged * each);
    expect(Number(after.top_up)).toBeGreaterThanOrEqual(0);
    expect(Number(after.voucher)).toBeGreaterThanOrEqual(0);
    expect(cli("audit", "--email", DEMO)).toContain("ok");
  });
});

test("health check answers when the database does", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
});
