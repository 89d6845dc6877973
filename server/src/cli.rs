//! Subcommands: serve (the default), migrate, create-user, create-api-key, account-id,
//! demo, audit, voucher (create, list, disable), plan (define, list, renew), grant,
//! revoke, audit-log verify.

use crate::config::Config;
use app::domain::audit::{self, Actor};
use app::domain::db::{Db, now};
use app::domain::{account, api_key, auth, demo, ledger, operator};
use app::model::money::Currency;
use app::model::operator::Capability;
use app::model::session::Role;
use clap::{Parser, Subcommand, ValueEnum};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// AI Cloud Credits: the billing server and its operator tools.
#[derive(Parser, Debug)]
#[command(name = "server", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the web server (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Create a user. A customer given --currency also gets a billing account.
    CreateUser {
        #[arg(long)]
        email: String,
        /// The password (or set NEW_USER_PASSWORD, which keeps it out of `ps`).
        #[arg(long, env = "NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Customer)]
        role: RoleArg,
        /// Two-letter country code, e.g. VN.
        #[arg(long)]
        country: Option<String>,
        /// ISO currency code of the account: VND, JPY, USD or EUR.
        #[arg(long)]
        currency: Option<String>,
        /// IANA time zone dates are shown in, e.g. Asia/Ho_Chi_Minh (default UTC).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Create an API key for a metering service; it is printed once.
    CreateApiKey {
        #[arg(long)]
        name: String,
        /// A usage service the key may charge (repeat for several; default: all three):
        /// model_fine_tuning, gpu_container, ai_inference.
        #[arg(long = "service")]
        services: Vec<String>,
        /// The largest single charge in a currency, e.g. `VND:5000000` or `USD:200.00`
        /// (repeat per currency). With any set, other currencies cannot be charged.
        #[arg(long = "max-charge")]
        max_charges: Vec<String>,
    },
    /// Print the account id of the customer with this email.
    AccountId {
        #[arg(long)]
        email: String,
    },
    /// Load the demo users, API key and history (skipped if already loaded).
    Demo,
    /// Check an account's books: balances against the ledger.
    Audit {
        #[arg(long)]
        email: String,
    },
    /// Give a customer's account a long ledger history, for load tests (scripts/load.sh):
    /// top-ups and usage charges spread over the last --days, balances to match.
    SeedHistory {
        #[arg(long)]
        email: String,
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        #[arg(long, default_value_t = 730)]
        days: i64,
    },
    /// Voucher campaigns: create, list, disable.
    #[command(subcommand)]
    Voucher(VoucherCommand),
    /// Billing plans: define, list, renew.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Give an operator capabilities (each is logged in the audit log).
    Grant(CapabilityArgs),
    /// Take capabilities from an operator.
    Revoke(CapabilityArgs),
    /// The audit log: check that no entry was edited or removed.
    #[command(subcommand)]
    AuditLog(AuditLogCommand),
}

/// `server grant` and `server revoke`'s arguments.
#[derive(clap::Args, Debug)]
struct CapabilityArgs {
    /// The operator's email.
    #[arg(long)]
    email: String,
    /// view_accounts, adjust_credits, approve_adjustments, manage_vouchers,
    /// manage_plans, manage_api_keys, or `all` (repeat for several).
    #[arg(long = "capability", required = true)]
    capabilities: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum AuditLogCommand {
    /// Recompute the hash chain; fails (exit 1) on any edited, removed or reordered
    /// entry, naming it.
    Verify,
}

/// The capabilities named on the command line.
fn capabilities(names: &[String]) -> Result<Vec<Capability>, Error> {
    let mut out = Vec::new();
    for name in names {
        if name == "all" {
            out.extend_from_slice(Capability::ALL);
            continue;
        }
        let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        out.push(Capability::parse(name).ok_or_else(|| {
            format!(
                "unknown capability {name:?}; use one of {} or all",
                known.join(", ")
            )
        })?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Grants or revokes, then prints what the operator holds.
async fn change_capabilities(db: &Db, args: CapabilityArgs, give: bool) -> Result<(), Error> {
    let wanted = capabilities(&args.capabilities)?;
    let txn = db.write().await?;
    let held = if give {
        operator::grant(&txn, &args.email, &wanted, &Actor::CommandLine, now()).await?
    } else {
        operator::revoke(&txn, &args.email, &wanted, &Actor::CommandLine, now()).await?
    };
    txn.commit().await?;
    let names: Vec<&str> = held.iter().map(|c| c.as_str()).collect();
    println!(
        "{} holds: {}",
        args.email,
        if names.is_empty() {
            "nothing".to_owned()
        } else {
            names.join(", ")
        }
    );
    Ok(())
}

#[derive(Subcommand, Debug)]
enum PlanCommand {
    /// Create a plan, or replace the one with this code (its prices too; subscribers
    /// pay a new price from their next renewal).
    Define(DefinePlan),
    /// List the plans with their prices and limits.
    List,
    /// Run the renewal job once: charge every period that has ended (the server does
    /// this every minute).
    Renew {
        /// Renew as if it were this instant (RFC 3339), e.g. to rehearse a month end.
        #[arg(long)]
        at: Option<String>,
        /// Days an unpaid renewal keeps its plan (default: PLAN_GRACE_DAYS or 3).
        #[arg(long, env = "PLAN_GRACE_DAYS", default_value_t = app::domain::plan::DEFAULT_GRACE_DAYS)]
        grace_days: i64,
    },
}

/// `server plan define`'s arguments.
#[derive(clap::Args, Debug)]
struct DefinePlan {
    /// Stable code services see, e.g. `pro`.
    #[arg(long)]
    code: String,
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "")]
    description: String,
    /// A feature line shown to customers (repeat).
    #[arg(long = "feature")]
    features: Vec<String>,
    /// A limit services read, `name=value` (repeat); numbers and true/false stay typed.
    #[arg(long = "limit")]
    limits: Vec<String>,
    /// The monthly price in a currency, e.g. `VND:200000` or `USD:19.00` (repeat).
    #[arg(long = "price")]
    prices: Vec<String>,
    /// Display order, cheapest first.
    #[arg(long, default_value_t = 0)]
    rank: i32,
    /// The free plan every account starts on and falls back to.
    #[arg(long)]
    default: bool,
    /// Hidden from customers (current subscribers keep it).
    #[arg(long)]
    inactive: bool,
}

// Parsed once per run: the size of the Create variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum VoucherCommand {
    /// Create a campaign with one shared code (--code) or a batch of single-use codes
    /// (--count, written to --out as CSV: they are shown once, only hashes are kept).
    Create(CreateVoucher),
    /// List campaigns with their figures.
    List,
    /// Disable a campaign: its codes stop working; granted credits stay.
    Disable {
        #[arg(long)]
        id: i64,
    },
}

/// `server voucher create`'s arguments.
#[derive(clap::Args, Debug)]
struct CreateVoucher {
    #[arg(long)]
    name: String,
    /// What the customer sees.
    #[arg(long)]
    description: String,
    /// The amount in a currency, e.g. `VND:100000` or `USD:5.00` (repeat per currency).
    #[arg(long = "amount", required = true)]
    amounts: Vec<String>,
    /// The shared code, e.g. WELCOME-2026.
    #[arg(long, conflicts_with = "count", required_unless_present = "count")]
    code: Option<String>,
    /// How many single-use codes to generate.
    #[arg(long, requires = "out")]
    count: Option<u32>,
    /// Where to write the batch's codes (CSV); must not exist yet.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// First day it can be redeemed (YYYY-MM-DD, UTC).
    #[arg(long)]
    valid_from: Option<String>,
    /// Last day it can be redeemed (YYYY-MM-DD, UTC).
    #[arg(long)]
    valid_until: Option<String>,
    /// The credits expire at the end of this day (YYYY-MM-DD, UTC)...
    #[arg(long, conflicts_with = "expires_after_days")]
    expires_on: Option<String>,
    /// ...or this many days after each redemption. Neither: they never expire.
    #[arg(long)]
    expires_after_days: Option<u32>,
    /// Total redemptions allowed (default: no cap).
    #[arg(long)]
    max_redemptions: Option<i64>,
    /// Redemptions allowed per account.
    #[arg(long, default_value_t = 1)]
    per_account: i32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Customer,
    Operator,
}

/// `CURRENCY:AMOUNT` as a flag takes it (`--amount VND:100000`): the currency and the
/// amount's text.
fn currency_amount<'a>(flag: &str, text: &'a str) -> Result<(Currency, &'a str), Error> {
    let (code, amount) = text.split_once(':').ok_or_else(|| {
        format!("--{flag} takes CURRENCY:AMOUNT such as VND:100000 or USD:5.00; got {text:?}")
    })?;
    let currency = Currency::from_code(&code.to_uppercase())
        .ok_or_else(|| format!("unknown currency {code:?}; use VND, JPY, USD or EUR"))?;
    Ok((currency, amount))
}

/// One `Money` per currency from `CURRENCY:AMOUNT` flags.
fn prices(flag: &str, texts: &[String]) -> Result<Vec<app::model::money::Money>, Error> {
    let mut out: Vec<app::model::money::Money> = Vec::new();
    for text in texts {
        let (currency, amount) = currency_amount(flag, text)?;
        let money = app::model::money::Money::parse_positive(amount, currency)
            .map_err(|e| format!("--{flag} {text}: {e}"))?;
        if out.iter().any(|m| m.currency() == currency) {
            return Err(format!("--{flag} names {} twice", currency.code()).into());
        }
        out.push(money);
    }
    Ok(out)
}

/// The scope `create-api-key` was given.
fn api_key_scope(services: &[String], max_charges: &[String]) -> Result<api_key::Scope, Error> {
    use app::model::ledger::Service;
    let mut scope = api_key::Scope::all();
    if !services.is_empty() {
        scope.services = services
            .iter()
            .map(|name| {
                Service::parse(name)
                    .filter(|s| s.is_usage())
                    .ok_or_else(|| format!("unknown service {name:?}; use model_fine_tuning, gpu_container or ai_inference"))
            })
            .collect::<Result<_, _>>()?;
    }
    scope.max_charges = prices("max-charge", max_charges)?;
    Ok(scope)
}

/// The CLI's create arguments as the web form would have them, so both are checked by
/// one rule (`CampaignForm::validate`).
fn campaign_form(args: CreateVoucher) -> Result<app::model::voucher::CampaignForm, Error> {
    use app::model::voucher::CampaignForm;
    let CreateVoucher {
        name,
        description,
        amounts,
        code,
        count,
        out: _,
        valid_from,
        valid_until,
        expires_on,
        expires_after_days,
        max_redemptions,
        per_account,
    } = args;
    let mut form = CampaignForm {
        name,
        description,
        kind: if count.is_some() { "batch" } else { "shared" }.into(),
        code: code.unwrap_or_default(),
        count: count.map(|n| n.to_string()).unwrap_or_default(),
        valid_from: valid_from.unwrap_or_default(),
        valid_until: valid_until.unwrap_or_default(),
        expiry: match (&expires_on, expires_after_days) {
            (Some(_), _) => "date",
            (None, Some(_)) => "days",
            (None, None) => "never",
        }
        .into(),
        expires_on: expires_on.unwrap_or_default(),
        expires_after_days: expires_after_days
            .map(|n| n.to_string())
            .unwrap_or_default(),
        max_redemptions: max_redemptions.map(|n| n.to_string()).unwrap_or_default(),
        per_account_limit: per_account.to_string(),
        ..Default::default()
    };
    for text in &amounts {
        let (currency, amount) = currency_amount("amount", text)?;
        let slot = match currency {
            Currency::Vnd => &mut form.amount_vnd,
            Currency::Jpy => &mut form.amount_jpy,
            Currency::Usd => &mut form.amount_usd,
            Currency::Eur => &mut form.amount_eur,
        };
        if !slot.is_empty() {
            return Err(format!("--amount names {} twice", currency.code()).into());
        }
        *slot = amount.to_owned();
    }
    Ok(form)
}

/// The most codes one CLI batch may generate.
const CLI_BATCH_MAX: u32 = 1_000_000;

async fn voucher(db: &Db, command: VoucherCommand) -> Result<(), Error> {
    use app::domain::voucher;
    match command {
        VoucherCommand::Create(args) => {
            let out = args.out.clone();
            let form = campaign_form(args)?;
            let campaign = form.validate(CLI_BATCH_MAX).map_err(|errors| {
                errors
                    .iter()
                    .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.problem))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            // Open the file first: codes made but not written would be lost for good.
            let file = match &out {
                Some(path) => Some(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(path)
                        .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
                ),
                None => None,
            };
            let created =
                voucher::create_campaign(db, &campaign, &Actor::CommandLine, now()).await?;
            if let (Some(mut file), Some(path)) = (file, out) {
                use std::io::Write;
                file.write_all(created.csv().as_bytes())?;
                file.sync_all()?;
                println!(
                    "created campaign {} ({}): {} codes written to {}",
                    created.id,
                    created.name,
                    created.codes.len(),
                    path.display()
                );
            } else {
                println!("created campaign {} ({})", created.id, created.name);
            }
            Ok(())
        }
        VoucherCommand::List => {
            for c in voucher::campaigns(db.conn()).await? {
                let amounts: Vec<String> = c.amounts.iter().map(ToString::to_string).collect();
                let cap = c
                    .max_redemptions
                    .map_or("no cap".to_owned(), |n| n.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}\tredeemed {} / {cap}\t{}",
                    c.id,
                    c.name,
                    c.codes,
                    amounts.join(", "),
                    c.window,
                    c.redemptions,
                    if c.enabled { "enabled" } else { "disabled" }
                );
                for f in c.figures {
                    println!(
                        "\t{}: granted {}, spent {}, expired {}, remaining {}",
                        f.granted.currency(),
                        f.granted,
                        f.spent,
                        f.expired,
                        f.remaining
                    );
                }
            }
            Ok(())
        }
        VoucherCommand::Disable { id } => {
            voucher::disable(db, id, &Actor::CommandLine, now()).await?;
            println!("disabled campaign {id}");
            Ok(())
        }
    }
}

/// The CLI's plan arguments as the console's form would have them, so one rule
/// (`PlanForm::validate`) checks both.
fn plan_form(args: &DefinePlan) -> Result<app::model::plan::PlanForm, Error> {
    let mut form = app::model::plan::PlanForm {
        code: args.code.clone(),
        name: args.name.clone(),
        description: args.description.clone(),
        features: args.features.join("\n"),
        limits: args.limits.join("\n"),
        rank: args.rank.to_string(),
        is_default: args.default,
        active: !args.inactive,
        ..Default::default()
    };
    for text in &args.prices {
        let (currency, amount) = currency_amount("price", text)?;
        let slot = match currency {
            Currency::Vnd => &mut form.price_vnd,
            Currency::Jpy => &mut form.price_jpy,
            Currency::Usd => &mut form.price_usd,
            Currency::Eur => &mut form.price_eur,
        };
        if !slot.is_empty() {
            return Err(format!("--price names {} twice", currency.code()).into());
        }
        *slot = amount.to_owned();
    }
    Ok(form)
}

async fn plan(db: &Db, command: PlanCommand) -> Result<(), Error> {
    use app::domain::plan;
    match command {
        PlanCommand::Define(args) => {
            let spec = plan_form(&args)?.validate().map_err(|errors| {
                errors
                    .iter()
                    .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.problem))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            let saved = plan::define(db, &spec, &Actor::CommandLine, now()).await?;
            println!("defined plan {} ({})", saved.code, saved.name);
            Ok(())
        }
        PlanCommand::List => {
            for p in plan::catalogue(db.conn()).await? {
                let mut prices: Vec<String> = Currency::ALL
                    .iter()
                    .filter_map(|c| p.price(*c))
                    .map(|m| m.to_string())
                    .collect();
                if p.plan.is_default {
                    prices = vec!["free".into()];
                }
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    p.plan.code,
                    p.plan.name,
                    prices.join(", "),
                    p.plan.limits,
                    if p.plan.is_default { "default" } else { "" },
                    if p.plan.active { "" } else { "inactive" },
                );
            }
            Ok(())
        }
        PlanCommand::Renew { at, grace_days } => {
            let at = match at {
                Some(text) => chrono::DateTime::parse_from_rfc3339(&text)
                    .map_err(|e| format!("--at takes an RFC 3339 instant: {e}"))?
                    .with_timezone(&chrono::Utc),
                None => now(),
            };
            let report = plan::renew_due(db, at, chrono::Duration::days(grace_days)).await?;
            println!(
                "renewed {}, unpaid {}, moved to the free plan {}",
                report.renewed, report.unpaid, report.fell_back
            );
            Ok(())
        }
    }
}

async fn open(config: &Config) -> Result<Db, Error> {
    config.prepare()?;
    Ok(Db::connect_with_pool(&config.database_url, config.database_pool_size).await?)
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli, config: Config) -> Result<(), Error> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::routes::serve(config).await,
        Command::Migrate => {
            open(&config).await?;
            println!("migrated {}", config.database_for_log());
            Ok(())
        }
        Command::CreateUser {
            email,
            password,
            role,
            country,
            currency,
            time_zone,
        } => {
            let db = open(&config).await?;
            let role = match role {
                RoleArg::Customer => Role::Customer,
                RoleArg::Operator => Role::Operator,
            };
            let currency = currency
                .map(|code| {
                    Currency::from_code(&code.to_uppercase()).ok_or_else(|| {
                        format!("unknown currency {code:?}; use VND, JPY, USD or EUR")
                    })
                })
                .transpose()?;
            if currency.is_some() && role == Role::Operator {
                return Err("operators have no billing account; drop --currency".into());
            }
            let country = country.map(|c| c.to_uppercase());
            if country
                .as_deref()
                .is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                return Err("--country takes a two-letter code such as VN".into());
            }
            let txn = db.write().await?;
            let at = now();
            let user = auth::create_user(&*txn, &email, &password, role, at).await?;
            if let Some(time_zone) = time_zone {
                auth::set_time_zone(&*txn, user.id, &time_zone).await?;
            }
            if let Some(currency) = currency {
                account::open(&*txn, user.id, currency, country.as_deref(), at).await?;
            }
            txn.commit().await?;
            println!("created {} {}", role.as_str(), user.email);
            Ok(())
        }
        Command::CreateApiKey {
            name,
            services,
            max_charges,
        } => {
            let scope = api_key_scope(&services, &max_charges)?;
            let db = open(&config).await?;
            let (row, key) = api_key::issue(&db, &name, &scope, &Actor::CommandLine, now()).await?;
            eprintln!(
                "API key {} ({}) created. It is shown once; store it now:",
                row.id, row.name
            );
            println!("{key}");
            Ok(())
        }
        Command::AccountId { email } => {
            let db = open(&config).await?;
            let account = account::of_email(db.conn(), &email)
                .await?
                .ok_or_else(|| format!("{email} has no billing account"))?;
            println!("{}", account.id);
            Ok(())
        }
        Command::Demo => {
            let db = open(&config).await?;
            match demo::load(&db).await? {
                demo::Loaded::Now => println!("demo data loaded"),
                demo::Loaded::Already => println!("demo data already loaded"),
            }
            Ok(())
        }
        Command::Voucher(command) => {
            let db = open(&config).await?;
            voucher(&db, command).await
        }
        Command::Plan(command) => {
            let db = open(&config).await?;
            plan(&db, command).await
        }
        Command::Grant(args) => {
            let db = open(&config).await?;
            change_capabilities(&db, args, true).await
        }
        Command::Revoke(args) => {
            let db = open(&config).await?;
            change_capabilities(&db, args, false).await
        }
        Command::AuditLog(AuditLogCommand::Verify) => {
            let db = open(&config).await?;
            let verified = audit::verify(db.conn()).await?;
            if verified.problems.is_empty() {
                println!(
                    "ok: {} entries, chain whole; head {}",
                    verified.entries, verified.head_hash
                );
                Ok(())
            } else {
                Err(format!(
                    "the audit log has been tampered with ({} entries read):\n{}",
                    verified.entries,
                    verified.problems.join("\n")
                )
                .into())
            }
        }
        Command::SeedHistory { email, rows, days } => {
            let db = open(&config).await?;
            let account = account::of_email(db.conn(), &email)
                .await?
                .ok_or_else(|| format!("{email} has no billing account"))?;
            demo::seed_history(&db, &account.id, rows, days, now()).await?;
            println!("{rows} ledger rows written for {email}");
            Ok(())
        }
        Command::Audit { email } => {
            let db = open(&config).await?;
            let account = account::of_email(db.conn(), &email)
                .await?
                .ok_or_else(|| format!("{email} has no billing account"))?;
            let problems = ledger::audit(db.conn(), &account.id).await?;
            if problems.is_empty() {
                println!("ok: balances equal the ledger");
                Ok(())
            } else {
                Err(problems.join("\n").into())
            }
        }
    }
}
