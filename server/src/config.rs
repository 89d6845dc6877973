//! Configuration, read once from the environment. Every variable has a default that
//! works on a fresh machine; the README lists them.

use std::path::PathBuf;

/// The server's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the SQLite database lives when `DATABASE_URL` is unset (`DATA_DIR`, default `data`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`DATABASE_URL`, default an SQLite file in the data dir).
    pub database_url: String,
    /// The address the public reaches us at (`PUBLIC_URL`); https makes cookies Secure.
    pub public_url: String,
}

impl Config {
    /// Reads the environment.
    pub fn from_env() -> Config {
        let data_dir = PathBuf::from(std::env::var("DATA_DIR").unwrap_or_else(|_| "data".into()));
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("billing.db").display()
                )
            });
        let public_url = std::env::var("PUBLIC_URL").unwrap_or_default();
        Config {
            data_dir,
            database_url,
            public_url,
        }
    }

    /// Whether we are served over https, so cookies must be `Secure`.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The database URL with any password hidden, for logs.
    pub fn database_for_log(&self) -> String {
        match self.database_url.split_once('@') {
            Some((left, right)) if left.contains("://") => {
                let scheme = left.split("://").next().unwrap_or_default();
                format!("{scheme}://…@{right}")
            }
            _ => self.database_url.clone(),
        }
    }

    /// Creates the data directory if the database is an SQLite file in it.
    pub fn prepare(&self) -> std::io::Result<()> {
        if self.database_url.starts_with("sqlite") {
            std::fs::create_dir_all(&self.data_dir)?;
        }
        Ok(())
    }
}
