//! The SQLite the server links, built as `.cargo/config.toml` asks.

use crate::support::TestDb;
use sea_orm::{ConnectionTrait, Statement};

/// Without the query-planner stability guarantee, SQLite re-parses and re-plans every
/// cached statement with a bound `LIMIT` each time it runs (`.one()`, history pages):
/// the server then spends a tenth of a page's CPU in SQLite's parser. The flag is a build
/// setting (`LIBSQLITE3_FLAGS` in `.cargo/config.toml`) that nothing else would notice
/// losing, so this checks it is compiled in.
#[tokio::test]
async fn sqlite_keeps_one_plan_per_statement() {
    let t = TestDb::sqlite().await;
    let conn = t.db.conn();
    let found = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT compile_options FROM pragma_compile_options \
             WHERE compile_options = 'ENABLE_QPSG'",
        ))
        .await
        .unwrap();
    assert!(
        found.is_some(),
        "the bundled SQLite was built without SQLITE_ENABLE_QPSG: is LIBSQLITE3_FLAGS in \
         .cargo/config.toml, and did libsqlite3-sys rebuild?"
    );
}
