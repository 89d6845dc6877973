//! Proofs against the real server binary:
//!
//! - **Crash**: concurrent usage charges with unique Idempotency-Keys, the server killed
//!   with SIGKILL at a random moment, restarted; every acknowledged charge is still
//!   there (its key replays the same transaction ids), every unacknowledged key replays
//!   to exactly one outcome, and the books balance (`server audit`). Ten rounds on
//!   SQLite and ten on PostgreSQL, each on a fresh database.
//! - **Two processes**: two servers on one PostgreSQL database, 64 clients split across
//!   them charging one account and delivering VNPay IPN calls for pending top-ups: no
//!   overdraft, each top-up credited once, the books balance.
//! - **Renewals**: 120 Pro subscriptions due at one instant; two `server plan renew`
//!   processes at once, one SIGKILLed at a random moment, then the job again: each
//!   period charged exactly once, books balanced. Three rounds per database.
//!
//! Databases come from the app's test harness (`app/tests/support`): PostgreSQL is the
//! server of `BILLING_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the tests fail if it does not answer.
#![allow(clippy::unwrap_used)]

use app::domain::audit::Actor;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

const SERVER: &str = env!("CARGO_BIN_EXE_server");
const API_KEY: &str = "demo-metering-key";
const DEMO: &str = "demo@example.com";
const VNPAY_SECRET: &str = "proof-vnpay-secret";
const VNPAY_TMN: &str = "PROOF001";

/// The app's test harness: a fresh SQLite file or PostgreSQL database, dropped after.
#[path = "../../app/tests/support/mod.rs"]
mod support;

/// A test's database, and the environment a server process needs for it.
struct Store {
    env: Vec<(String, String)>,
    test_db: support::TestDb,
    /// Served as `/store-marker.txt` from the site root: proves that the server answering
    /// on a port is this store's (the tests run in parallel, each picking free ports).
    marker: String,
    _dir: tempfile::TempDir,
}

impl Store {
    async fn new(postgres: bool) -> Store {
        let test_db = if postgres {
            support::TestDb::postgres().await
        } else {
            support::TestDb::sqlite().await
        };
        let dir = tempfile::tempdir().unwrap();
        let env = vec![
            ("DATABASE_URL".to_owned(), test_db.url.clone()),
            ("DATA_DIR".to_owned(), dir.path().display().to_string()),
            ("PAYMENT_SANDBOX".to_owned(), "on".to_owned()),
            ("VNPAY_HASH_SECRET".to_owned(), VNPAY_SECRET.to_owned()),
            ("VNPAY_TMN_CODE".to_owned(), VNPAY_TMN.to_owned()),
            ("LEPTOS_OUTPUT_NAME".to_owned(), "billing".to_owned()),
            (
                "LEPTOS_SITE_ROOT".to_owned(),
                dir.path().display().to_string(),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        let marker = format!("{}-{}", test_db.url, rand::rng().random::<u64>());
        std::fs::write(dir.path().join("store-marker.txt"), &marker).unwrap();
        Store {
            env,
            test_db,
            marker,
            _dir: dir,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(SERVER);
        c.args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs an operator subcommand; returns its standard output.
    fn cli(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Starts `server serve` on a free port and waits until it answers as this store.
    /// A port found free can be taken by another test's server before ours binds it (ours
    /// then exits, and the other one answers); the marker tells, and we try another port.
    async fn serve(&self) -> Running {
        let http = reqwest::Client::new();
        for _ in 0..5 {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            // Waited on in `Running`'s kill or drop.
            #[allow(clippy::zombie_processes)]
            let child = self
                .command(&["serve"])
                .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut running = Running {
                child,
                base: format!("http://127.0.0.1:{port}"),
            };
            for _ in 0..600 {
                if running.child.try_wait().unwrap().is_some() {
                    break; // ours exited: the port was taken
                }
                let marker = http
                    .get(format!("{}/store-marker.txt", running.base))
                    .send()
                    .await;
                if let Ok(r) = marker
                    && r.status().is_success()
                {
                    if r.text().await.unwrap_or_default() == self.marker {
                        return running;
                    }
                    break; // another store's server holds this port
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(running);
        }
        panic!("the server did not start as this store's within five tries");
    }
}

struct Running {
    child: Child,
    base: String,
}

impl Running {
    /// SIGKILL: no shutdown, no flush, as a power cut or the OOM killer.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A charge sent: its key, its body, and its answer if one arrived before the kill.
type Sent = (String, Value, Option<Answer>);

/// A charge's answer: status, the transaction ids, whether it was a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    ids: Vec<i64>,
    replayed: bool,
}

async fn charge(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> Result<Answer, reqwest::Error> {
    let r = http
        .post(format!("{base}/api/v1/charges"))
        .bearer_auth(API_KEY)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    let replayed = r.headers().contains_key("idempotent-replayed");
    let answer: Value = r.json().await?;
    let ids = answer["transactions"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|t| t["id"].as_i64()).collect())
        .unwrap_or_default();
    Ok(Answer {
        status,
        ids,
        replayed,
    })
}

fn charge_body(account: &str, dong: i64) -> Value {
    json!({
        "account_id": account, "service": "ai_inference", "resource": "proof",
        "description": "crash proof", "amount": dong.to_string(), "currency": "VND",
    })
}

async fn crash_round(postgres: bool, round: u32) {
    let store = Store::new(postgres).await;
    store.cli(&["demo"]);
    let account = store.cli(&["account-id", "--email", DEMO]);
    let server = store.serve().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // (key, body, the answer if one arrived before the kill)
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..16 {
        let (http, base, sent, account) = (
            http.clone(),
            server.base.clone(),
            sent.clone(),
            account.clone(),
        );
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("r{round}-c{c}-n{n}");
                let body = charge_body(&account, rand::rng().random_range(1_000..60_000));
                let index = {
                    let mut s = sent.lock().await;
                    s.push((key.clone(), body.clone(), None));
                    s.len() - 1
                };
                match charge(&http, &base, &key, &body).await {
                    Ok(answer) => sent.lock().await[index].2 = Some(answer),
                    Err(_) => return, // the server died under us
                }
            }
        }));
    }
    // The kill comes at a random moment after the first answer: a round killed before
    // any charge is acknowledged proves nothing (on a slow machine the first answer
    // once took longer than a kill at 187 ms from the start).
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        while !sent.lock().await.iter().any(|s| s.2.is_some()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "round {round}: no charge answered in 30 s"
    );
    let moment = rand::rng().random_range(0..1_050);
    tokio::time::sleep(Duration::from_millis(moment)).await;
    server.kill();
    for c in clients {
        c.await.unwrap();
    }

    let server = store.serve().await;
    let sent = sent.lock().await.clone();
    let (mut acknowledged, mut unacknowledged) = (0, 0);
    for (key, body, before) in &sent {
        let again = charge(&http, &server.base, key, body).await.unwrap();
        match before {
            Some(first) => {
                acknowledged += 1;
                assert!(
                    first.status == 201 || first.status == 402,
                    "{key}: {first:?}"
                );
                assert_eq!(
                    (again.status, &again.ids, again.replayed),
                    (first.status, &first.ids, true),
                    "{key}: an acknowledged charge must survive the crash unchanged"
                );
            }
            None => {
                unacknowledged += 1;
                // Whatever it became (committed before the kill, or charged now), it
                // is one outcome from here on.
                let third = charge(&http, &server.base, key, body).await.unwrap();
                assert!(third.replayed, "{key}");
                assert_eq!(
                    (third.status, &third.ids),
                    (again.status, &again.ids),
                    "{key}"
                );
            }
        }
    }
    assert!(
        acknowledged > 0,
        "round {round}: no charge was answered before the kill"
    );
    drop(server);
    assert_eq!(
        store.cli(&["audit", "--email", DEMO]),
        "ok: balances equal the ledger"
    );
    assert_chain_whole(&store);
    eprintln!(
        "crash round {round} ({}): killed {moment} ms after the first answer; {acknowledged} acknowledged, {unacknowledged} in flight",
        if postgres { "PostgreSQL" } else { "SQLite" }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_charge_on_sqlite() {
    for round in 0..10 {
        crash_round(false, round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_charge_on_postgres() {
    for round in 0..10 {
        crash_round(true, round).await;
    }
}

/// VNPay's IPN for a paid payment, signed as VNPay signs it.
fn ipn_query(reference: &str, dong: i64) -> String {
    use app::domain::gateways::vnpay;
    let mut params = BTreeMap::new();
    for (k, v) in [
        ("vnp_Amount", (dong * 100).to_string()),
        ("vnp_ResponseCode", "00".to_owned()),
        ("vnp_TmnCode", VNPAY_TMN.to_owned()),
        ("vnp_TransactionNo", "14226112".to_owned()),
        ("vnp_TransactionStatus", "00".to_owned()),
        ("vnp_TxnRef", reference.to_owned()),
    ] {
        params.insert(k.to_owned(), v);
    }
    let secret = secrecy::SecretString::from(VNPAY_SECRET.to_owned());
    format!(
        "{}&vnp_SecureHash={}",
        vnpay::signing_text(&params),
        vnpay::sign(&secret, &params)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_on_one_postgres_database_credit_once_and_never_overdraw() {
    use app::domain::payment::{self, NewPayment};
    use app::model::money::{Currency, Money};
    use app::model::top_up::Gateway;

    let store = Store::new(true).await;
    store.cli(&["demo"]);
    let account = store.cli(&["account-id", "--email", DEMO]);
    let db = store.test_db.db.clone();
    let before = app::domain::ledger::balances(db.conn(), &account, Currency::Vnd)
        .await
        .unwrap();
    // Twenty pending top-ups of 500.000 ₫ waiting for their IPN.
    let mut pending = Vec::new();
    for i in 0..20 {
        let new = NewPayment {
            account_id: account.clone(),
            amount: Money::from_minor(500_000, Currency::Vnd),
            gateway: Gateway::VnPay,
            client_token: format!("two-{i}"),
            consent_version: "proof".into(),
        };
        pending.push(
            payment::create(&db, &new, chrono::Duration::minutes(15))
                .await
                .unwrap()
                .reference,
        );
    }
    let servers = [store.serve().await, store.serve().await];
    let http = reqwest::Client::new();
    let mut clients = Vec::new();
    for c in 0..64usize {
        let base = servers[c % 2].base.clone();
        let (http, account, pending) = (http.clone(), account.clone(), pending.clone());
        clients.push(tokio::spawn(async move {
            let (mut charged, mut confirmed) = (0i64, 0usize);
            for n in 0..15usize {
                if c % 4 == 0 {
                    // A gateway's IPN, delivered to either process, many times over.
                    let reference = &pending[(c + n) % pending.len()];
                    let r: Value = http
                        .get(format!(
                            "{base}/payments/vnpay/ipn?{}",
                            ipn_query(reference, 500_000)
                        ))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let code = r["RspCode"].as_str().unwrap().to_owned();
                    assert!(code == "00" || code == "02", "{r}");
                    confirmed += usize::from(code == "00");
                } else {
                    let dong = 150_000;
                    let a = charge(
                        &http,
                        &base,
                        &format!("two-c{c}-n{n}"),
                        &charge_body(&account, dong),
                    )
                    .await
                    .unwrap();
                    assert!(a.status == 201 || a.status == 402, "{a:?}");
                    if a.status == 201 {
                        charged += dong;
                    }
                }
            }
            (charged, confirmed)
        }));
    }
    let (mut charged, mut confirmed) = (0, 0);
    for c in clients {
        let (a, b) = c.await.unwrap();
        charged += a;
        confirmed += b;
    }
    drop(servers);
    // Every payment got IPNs (16 IPN clients × 15 sends over 20 payments, both
    // processes), and each was credited by exactly one of them.
    assert_eq!(
        confirmed,
        pending.len(),
        "each top-up confirmed by exactly one IPN"
    );
    for reference in &pending {
        let p = payment::of_account(db.conn(), &account, reference)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.state, "succeeded", "{reference}");
    }
    let after = app::domain::ledger::balances(db.conn(), &account, Currency::Vnd)
        .await
        .unwrap();
    let minor = |m: Money| m.to_minor().unwrap();
    assert!(
        minor(after.top_up) >= 0 && minor(after.voucher) >= 0,
        "no overdraft"
    );
    assert_eq!(
        minor(after.total()),
        minor(before.total()) + 20 * 500_000 - charged,
        "balance = before + every top-up once - every acknowledged charge"
    );
    assert_eq!(
        store.cli(&["audit", "--email", DEMO]),
        "ok: balances equal the ledger"
    );
    assert_chain_whole(&store);
    eprintln!(
        "two processes: {charged} ₫ charged in 201s, 20 top-ups credited once each, audit clean"
    );
}

/// `n` VND customers on Pro (200.000 ₫ a month) whose period ends at `end`, each with
/// 1.000.000 ₫ of top-up credits left after the upgrade; returns their account ids.
async fn pro_subscribers(
    store: &Store,
    n: usize,
    end: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    use app::domain::ledger::{self, TopUp};
    use app::domain::plan::{self, UpgradeRequest};
    use app::domain::settings::LocalTime;
    use app::model::ledger::Status;
    use app::model::money::{Currency, Money};
    use app::model::plan::PlanForm;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let db = &store.test_db.db;
    let form = PlanForm {
        code: "pro".into(),
        name: "Pro".into(),
        price_vnd: "200000".into(),
        rank: "1".into(),
        active: true,
        ..Default::default()
    };
    plan::define(db, &form.validate().unwrap(), &Actor::System, end)
        .await
        .unwrap();
    let start = end - chrono::Months::new(1);
    let vnd = |n| Money::from_minor(n, Currency::Vnd);
    let mut ids = Vec::new();
    for i in 0..n {
        let id = support::customer(db, &format!("renew{i}@example.com"), Currency::Vnd).await;
        app::domain::entities::account::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id.clone()),
            created_at: Set(start),
            ..Default::default()
        }
        .update(db.conn())
        .await
        .unwrap();
        let txn = db.write().await.unwrap();
        let top_up = TopUp {
            account_id: id.clone(),
            amount: vnd(1_200_000),
            gateway: "VNPay".into(),
            reference: format!("R{i}"),
        };
        ledger::record_top_up_in(&txn, &top_up, Status::Success, start)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let request = UpgradeRequest {
            account_id: &id,
            to_code: "pro",
            token: None,
            expected: None,
            actor: "proof",
            dates: LocalTime::UTC,
        };
        plan::upgrade(db, &request, start).await.unwrap();
        ids.push(id);
    }
    ids
}

/// Two `server plan renew` processes at once on one database, one of them killed
/// (SIGKILL) at a random moment, then the job run again: every account is charged for
/// the period exactly once, and its books balance.
async fn renewal_round(postgres: bool) {
    use app::domain::entities::transaction;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let store = Store::new(postgres).await;
    let end = chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let ids = pro_subscribers(&store, 120, end).await;
    let at = "2027-01-01T00:00:00Z";
    // Waited on below (killed or run to the end).
    #[allow(clippy::zombie_processes)]
    let spawn = || {
        store
            .command(&["plan", "renew", "--at", at])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut killed, mut survivor) = (spawn(), spawn());
    tokio::time::sleep(Duration::from_millis(rand::rng().random_range(20..400))).await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(survivor.wait().unwrap().success());
    // The next run (a restart, the next minute) finds nothing left to charge.
    assert_eq!(
        store.cli(&["plan", "renew", "--at", at]),
        "renewed 0, unpaid 0, moved to the free plan 0"
    );
    let db = &store.test_db.db;
    for id in &ids {
        let plan_rows = transaction::Entity::find()
            .filter(transaction::Column::AccountId.eq(id.as_str()))
            .filter(transaction::Column::Kind.eq("plan"))
            .count(db.conn())
            .await
            .unwrap();
        assert_eq!(plan_rows, 2, "the upgrade and one renewal for {id}");
        let books = app::domain::ledger::audit(db.conn(), id).await.unwrap();
        assert!(books.is_empty(), "{books:?}");
    }
    // A process killed mid-renewal left no half-written audit entry.
    assert_chain_whole(&store);
}

/// `server audit-log verify` finds the hash chain whole.
fn assert_chain_whole(store: &Store) {
    let verified = store.cli(&["audit-log", "verify"]);
    assert!(verified.starts_with("ok: "), "{verified}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renewals_from_two_processes_with_one_killed_charge_each_period_once_on_sqlite() {
    for _ in 0..3 {
        renewal_round(false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renewals_from_two_processes_with_one_killed_charge_each_period_once_on_postgres() {
    for _ in 0..3 {
        renewal_round(true).await;
    }
}
