//! The database handle, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support::TestDb;
use app::domain::db::Db;
use sea_orm::DbBackend;

fn pool_size(db: &Db) -> u32 {
    match db.backend() {
        DbBackend::Sqlite => db
            .conn()
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        _ => db
            .conn()
            .get_postgres_connection_pool()
            .options()
            .get_max_connections(),
    }
}

/// `DATABASE_POOL_SIZE` reaches the pool; without it each database keeps its default.
#[tokio::test]
async fn the_pool_holds_as_many_connections_as_configured() {
    let t = TestDb::new().await;
    assert_eq!(pool_size(&t.db), if t.is_postgres() { 16 } else { 8 });
    let sized = Db::connect_with_pool(&t.url, Some(3)).await.unwrap();
    assert_eq!(pool_size(&sized), 3);
}
