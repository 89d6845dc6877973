//! The database handle: SQLite (a file in the data directory) or PostgreSQL, chosen by
//! URL, migrated on connect, and the one way to open a write transaction.

use super::group_commit::Queues;
use super::history::PastLimit;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A pooled connection to the billing database.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite allows one writer at a time. Queuing writers of this process here, rather
    /// than in SQLite's busy handler (which sleeps in steps of up to 100 ms), keeps
    /// concurrent charges fast; other processes still wait through `busy_timeout`.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Charges waiting per account for their batch (`group_commit`): shared by every
    /// clone of this handle, so one process batches each account in one place.
    charges: Arc<Queues>,
    /// Credit History counts known to be past their limit (`history::PastLimit`).
    counts_past_limit: Arc<PastLimit>,
}

/// An open write transaction. Dropping it without `commit` rolls it back.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    /// Makes every change of the transaction durable, or none.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) with the default
    /// pool and runs every pending migration.
    pub async fn connect(url: &str) -> Result<Db, DbErr> {
        Db::connect_with_pool(url, None).await
    }

    /// `connect`, with at most `pool_size` connections (default: SQLite 8, PostgreSQL
    /// 16). PostgreSQL runs a process per busy connection: on a server whose cores it
    /// shares, fewer connections than requests in flight queue the requests in the pool
    /// instead of in the kernel's scheduler (docs/benchmarks.md, "Pages under load").
    pub async fn connect_with_pool(url: &str, pool_size: Option<u32>) -> Result<Db, DbErr> {
        let sqlite = url.starts_with("sqlite");
        let mut options = ConnectOptions::new(url.to_owned());
        // sqlx pings every connection it takes from the pool unless told otherwise: one
        // more round trip per statement (on SQLite a hand-off to the connection's worker
        // thread and back). A SQLite file cannot drop a connection, so never ping it; a
        // PostgreSQL connection idle for a while may have been cut by the server or a
        // proxy, so ping only those.
        if sqlite {
            options.test_before_acquire(false);
        } else {
            options.test_before_acquire_if_idle_for(Duration::from_secs(30));
        }
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(30))
            .max_connections(pool_size.unwrap_or(if sqlite { 8 } else { 16 }))
            // WAL lets readers run beside the writer; FULL makes each commit durable
            // before it is acknowledged; foreign keys are off by default in SQLite. (The
            // SQLite itself is built with a fixed plan per statement: .cargo/config.toml.)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .create_if_missing(true)
            });
        let conn = Database::connect(options).await?;
        Migrator::up(&conn, None).await?;
        let write_gate =
            (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Db {
            conn,
            write_gate,
            charges: Arc::default(),
            counts_past_limit: Arc::default(),
        })
    }

    /// The charges waiting per account (`group_commit`), and the batches' sizes.
    pub fn charges(&self) -> &Queues {
        &self.charges
    }

    /// The Credit History counts this process has seen pass their limit.
    pub fn counts_past_limit(&self) -> &PastLimit {
        &self.counts_past_limit
    }

    /// The pool, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Opens a transaction that will write. On SQLite it takes the write lock at BEGIN
    /// (IMMEDIATE), so a read inside it can never be invalidated by another writer.
    pub async fn write(&self) -> Result<WriteTxn, DbErr> {
        let gate = match &self.write_gate {
            Some(gate) => Some(Arc::clone(gate).lock_owned().await),
            None => None,
        };
        let txn = self
            .conn
            .begin_with_options(TransactionOptions {
                isolation_level: None::<IsolationLevel>,
                access_mode: None::<AccessMode>,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await?;
        Ok(WriteTxn { txn, _gate: gate })
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }
}

/// The current time, truncated to microseconds: what PostgreSQL stores, so a value
/// read back equals the value written on both databases.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}
