//! Throughput measuring shared by the benches that count write operations per second
//! (`ledger`, `payments`): a fixed run per cell, several concurrent callers, and the
//! raw single-row commit rate of the same database as the yardstick.

use app::domain::db::Db;
use app::domain::entities::account as account_entity;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::time::{Duration, Instant};

/// How many concurrent callers each row of a table measures.
pub const CALLERS: [usize; 3] = [1, 8, 32];

/// How long each cell runs (`BENCH_SECONDS`, default 3).
pub fn seconds() -> Duration {
    let s = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(s)
}

/// Runs `callers` tasks for the bench duration; returns operations per second.
pub async fn rate<F, Fut>(callers: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let deadline = Instant::now() + seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                op(caller).await;
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// One committed transaction updating one row: the database's own write rate.
pub async fn raw_commit(db: &Db, account_id: &str) {
    let txn = db.write().await.unwrap();
    account_entity::Entity::update_many()
        .col_expr(
            account_entity::Column::LockVersion,
            Expr::col(account_entity::Column::LockVersion).add(1),
        )
        .filter(account_entity::Column::Id.eq(account_id))
        .exec(&*txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
}
