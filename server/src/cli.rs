//! Subcommands: serve (the default), migrate, create-user, create-api-key, account-id,
//! demo, audit, voucher (create, list, disable).

use crate::config::Config;
use app::domain::db::{Db, now};
use app::domain::{account, api_key, auth, demo, ledger};
use app::model::money::Currency;
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
    /// Voucher campaigns: create, list, disable.
    #[command(subcommand)]
    Voucher(VoucherCommand),
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

/// The scope `create-api-key` was given.
fn api_key_scope(services: &[String], max_charges: &[String]) -> Result<api_key::Scope, Error> {
    use app::model::ledger::Service;
    use app::model::money::Money;
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
    for text in max_charges {
        let (code, amount) = text.split_once(':').ok_or_else(|| {
            format!("--max-charge takes CURRENCY:AMOUNT such as VND:5000000; got {text:?}")
        })?;
        let currency = Currency::from_code(&code.to_uppercase())
            .ok_or_else(|| format!("unknown currency {code:?}; use VND, JPY, USD or EUR"))?;
        let max = Money::parse_positive(amount, currency)
            .map_err(|e| format!("--max-charge {text}: {e}"))?;
        if scope.max_charges.iter().any(|m| m.currency() == currency) {
            return Err(format!("--max-charge names {code} twice").into());
        }
        scope.max_charges.push(max);
    }
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
        let (code, amount) = text.split_once(':').ok_or_else(|| {
            format!("--amount takes CURRENCY:AMOUNT such as VND:100000; got {text:?}")
        })?;
        let currency = Currency::from_code(&code.to_uppercase())
            .ok_or_else(|| format!("unknown currency {code:?}; use VND, JPY, USD or EUR"))?;
        let slot = match currency {
            Currency::Vnd => &mut form.amount_vnd,
            Currency::Jpy => &mut form.amount_jpy,
            Currency::Usd => &mut form.amount_usd,
            Currency::Eur => &mut form.amount_eur,
        };
        if !slot.is_empty() {
            return Err(format!("--amount names {code} twice").into());
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
                    .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
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
            let created = voucher::create_campaign(db, &campaign, now()).await?;
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
            voucher::disable(db, id).await?;
            println!("disabled campaign {id}");
            Ok(())
        }
    }
}

async fn open(config: &Config) -> Result<Db, Error> {
    config.prepare()?;
    Ok(Db::connect(&config.database_url).await?)
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
            let (row, key) = api_key::create(db.conn(), &name, &scope, now()).await?;
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
