//! Subcommands: serve (the default), migrate, create-user, create-api-key, account-id,
//! demo, audit.

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
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Customer,
    Operator,
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
        Command::CreateApiKey { name } => {
            let db = open(&config).await?;
            let (row, key) = api_key::create(db.conn(), &name, now()).await?;
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
