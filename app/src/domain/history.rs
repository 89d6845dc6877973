//! Credit History queries: filtered, newest first, paged by keyset on (created_at, id),
//! never by OFFSET, so a page 20,000 rows deep costs what the first one does.
//!
//! A query that narrows by service or status runs one index range scan per (service,
//! status) pair the filter allows (at most 6 × 3) on `ix_transactions_filter` (account,
//! bucket, service, status, created_at, id), each stopping after a page's worth, and
//! merges them. Every filter combination is thus served in the paging order without a
//! sort of the whole history. The unnarrowed history (the page a customer opens first)
//! is one range scan on `ix_transactions_time` (account, bucket, created_at, id).
//!
//! The account always comes from the caller (the session); a cursor holds only a
//! position, so it cannot reach another account's rows.

use super::entities::transaction;
use super::settings::LocalTime;
use crate::model::history::{
    FilterError, HistoryFilter, HistoryPage, HistoryRow, Matches, PageCursor, services_of,
};
use crate::model::ledger::{Bucket, Service, Status};
use crate::model::money::{Currency, Money};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Alias, Asterisk, Expr, Order, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};

/// Why a history query was refused.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("this page link is not valid any more; start again from the first page")]
    BadCursor,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What the history shows of a ledger row: only these columns are read, which keeps
/// paging and a million-row export cheap.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult, serde::Deserialize)]
pub struct Record {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub service: Option<String>,
    pub source: String,
    pub description: String,
    pub narrative: Option<String>,
    pub voucher_code: Option<String>,
    pub status: String,
    pub amount_minor: i64,
}

impl Record {
    /// The Source and Description in `language` (`domain::narrative`).
    pub fn words(
        &self,
        language: crate::model::settings::Language,
    ) -> (std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>) {
        super::narrative::shown(
            self.narrative.as_deref(),
            &self.source,
            &self.description,
            language,
        )
    }
}

/// A position in the newest-first order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// From the newest row.
    Start,
    /// Rows older than this one.
    After(DateTime<Utc>, i64),
    /// Rows newer than this one.
    Before(DateTime<Utc>, i64),
}

/// A user's time zone by IANA name; unknown names fall back to UTC.
pub fn time_zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// The instant a local day starts in `tz`. On the rare days a zone skips midnight, the
/// day starts at the first local time that exists.
fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(30);
    }
    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
}

/// The filter's date range as UTC instants: [start of first day, start of the day after
/// the last day).
pub fn window(filter: &HistoryFilter, tz: Tz) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let start = filter.start.map(|d| day_start(d, tz));
    let end = filter
        .end
        .and_then(|d| d.succ_opt())
        .map(|d| day_start(d, tz));
    (start, end)
}

/// Encodes a row's position as an opaque cursor.
pub fn encode_cursor(row: &Record) -> String {
    cursor_at(row.created_at, row.id)
}

/// The opaque cursor of the position (created_at, id); shared by every keyset list.
pub fn cursor_at(created_at: DateTime<Utc>, id: i64) -> String {
    hex::encode(format!("{}.{}", created_at.timestamp_micros(), id))
}

/// Reads a cursor back into a position.
pub fn decode_cursor(cursor: &PageCursor) -> Result<Position, HistoryError> {
    let (text, after) = match cursor {
        PageCursor::After(c) => (c, true),
        PageCursor::Before(c) => (c, false),
    };
    let bytes = hex::decode(text).map_err(|_| HistoryError::BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| HistoryError::BadCursor)?;
    let (micros, id) = text.split_once('.').ok_or(HistoryError::BadCursor)?;
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or(HistoryError::BadCursor)?;
    let id = id.parse().map_err(|_| HistoryError::BadCursor)?;
    Ok(if after {
        Position::After(at, id)
    } else {
        Position::Before(at, id)
    })
}

/// The rows one index range scan reads, in the paging order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// Every row of the bucket (`ix_transactions_time`).
    All,
    /// The rows of one service with one status (`ix_transactions_filter`).
    Pair(Service, Status),
}

/// The scans that together read exactly the rows the filter's services and statuses
/// allow (the date range and position bound each scan alike).
fn scans(filter: &HistoryFilter) -> Vec<Scan> {
    if filter.services.is_empty() && filter.statuses.is_empty() {
        return vec![Scan::All];
    }
    let services: Vec<Service> = if filter.services.is_empty() {
        services_of(filter.bucket).to_vec()
    } else {
        filter.services.clone()
    };
    let statuses: Vec<Status> = if filter.statuses.is_empty() {
        Status::ALL.to_vec()
    } else {
        filter.statuses.clone()
    };
    services
        .iter()
        .flat_map(|s| statuses.iter().map(move |st| Scan::Pair(*s, *st)))
        .collect()
}

fn base(account_id: &str, bucket: Bucket, scan: Scan) -> sea_orm::Select<transaction::Entity> {
    let all = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account_id))
        .filter(transaction::Column::Bucket.eq(bucket.as_str()));
    match scan {
        Scan::All => all,
        Scan::Pair(service, status) => all
            .filter(transaction::Column::Service.eq(service.as_str()))
            .filter(transaction::Column::Status.eq(status.as_str())),
    }
}

/// Rows on one side of a keyset position, in the list's order: from the newest (`Start`),
/// older than the position (`After`), newest first, or newer than it (`Before`), oldest
/// first. `created_at <= t AND (created_at < t OR id < i)`: the first half is the index
/// range both databases use; the second trims the one timestamp at the edge. Every
/// keyset list (Credit History, Payment History) pages through this.
pub fn keyset<E: EntityTrait>(
    q: sea_orm::Select<E>,
    created_at: E::Column,
    id: E::Column,
    position: Position,
) -> sea_orm::Select<E> {
    match position {
        Position::Start => q.order_by_desc(created_at).order_by_desc(id),
        Position::After(at, last) => q
            .filter(created_at.lte(at))
            .filter(Condition::any().add(created_at.lt(at)).add(id.lt(last)))
            .order_by_desc(created_at)
            .order_by_desc(id),
        Position::Before(at, last) => q
            .filter(created_at.gte(at))
            .filter(Condition::any().add(created_at.gt(at)).add(id.gt(last)))
            .order_by_asc(created_at)
            .order_by_asc(id),
    }
}

/// Limits a query to the date range and to one side of a position, in newest-first
/// order (oldest-first for `Before`). Where the range and the position both bound
/// `created_at` on one side, only the tighter bound is applied (the other is implied):
/// SQLite uses a single bound per side for the index range and would scan the gap.
fn bounded(
    q: sea_orm::Select<transaction::Entity>,
    (start, end): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    position: Position,
) -> sea_orm::Select<transaction::Entity> {
    use transaction::Column::{CreatedAt, Id};
    let from_start = |q: sea_orm::Select<transaction::Entity>| match start {
        Some(start) => q.filter(CreatedAt.gte(start)),
        None => q,
    };
    let to_end = |q: sea_orm::Select<transaction::Entity>| match end {
        Some(end) => q.filter(CreatedAt.lt(end)),
        None => q,
    };
    match position {
        Position::Start => keyset(to_end(from_start(q)), CreatedAt, Id, position),
        // Rows before the range's end are all older than a position at or after it.
        Position::After(at, _) if end.is_some_and(|end| end <= at) => {
            keyset(to_end(from_start(q)), CreatedAt, Id, Position::Start)
        }
        Position::After(..) => keyset(from_start(q), CreatedAt, Id, position),
        // Rows from the range's start on are all newer than a position before it.
        Position::Before(at, _) if start.is_some_and(|start| start > at) => to_end(from_start(q))
            .order_by_asc(CreatedAt)
            .order_by_asc(Id),
        Position::Before(..) => keyset(to_end(q), CreatedAt, Id, position),
    }
}

/// The [`Record`] columns, in its fields' order (the export's JSON batches rely on it).
const RECORD_COLUMNS: [transaction::Column; 9] = {
    use transaction::Column as T;
    [
        T::Id,
        T::CreatedAt,
        T::Service,
        T::Source,
        T::Description,
        T::Narrative,
        T::VoucherCode,
        T::Status,
        T::AmountMinor,
    ]
};

/// A query narrowed to the [`Record`] columns.
fn record_columns(
    query: sea_orm::Select<transaction::Entity>,
) -> sea_orm::Select<transaction::Entity> {
    query.select_only().columns(RECORD_COLUMNS)
}

/// Reads the [`Record`] columns of a query.
async fn records<C: ConnectionTrait>(
    conn: &C,
    query: sea_orm::Select<transaction::Entity>,
) -> Result<Vec<Record>, DbErr> {
    record_columns(query).into_model::<Record>().all(conn).await
}

/// A batch of [`Record`]s read as one row: the database builds them into a JSON array
/// of arrays, in the batch's newest-first order, and we parse it. sqlx hands SQLite's
/// rows over one at a time from its worker thread (about 100,000 rows/s here), which
/// made that hand-off the million-row export's bottleneck; one row per batch moves them
/// in one go. Only for batches that continue newest first (`Start`, `After`).
async fn records_in_one_row<C: ConnectionTrait>(
    conn: &C,
    query: sea_orm::Select<transaction::Entity>,
) -> Result<Vec<Record>, DbErr> {
    use sea_orm::IdenStatic;
    // `created_at` comes out as RFC 3339 text.
    let columns = RECORD_COLUMNS.map(|c| c.as_str()).join(", ");
    const ORDER: &str = "ORDER BY created_at DESC, id DESC";
    let batch = match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => format!("json_group_array(json_array({columns}) {ORDER})"),
        sea_orm::DbBackend::Postgres => {
            format!("COALESCE(json_agg(json_build_array({columns}) {ORDER}), '[]')::text")
        }
        _ => return records(conn, query).await,
    };
    let one_row = Query::select()
        .expr_as(Expr::cust(batch), Alias::new("batch"))
        .from_subquery(record_columns(query).into_query(), Alias::new("lane"))
        .to_owned();
    let text: String = match conn.query_one(&one_row).await? {
        Some(row) => row.try_get("", "batch")?,
        None => return Ok(Vec::new()),
    };
    // A JSON array deserialises into `Record` field by field, in declaration order.
    serde_json::from_str(&text).map_err(|e| DbErr::Type(format!("history batch: {e}")))
}

/// The lanes' queries as one statement: `SELECT * FROM (lane) UNION ALL SELECT * FROM
/// (lane) …`, each lane keeping its own ORDER BY and LIMIT (so its own index range), for
/// the caller to order and limit once more. One round trip, and only the rows asked for
/// leave the database.
fn all_lanes(lanes: Vec<SelectStatement>) -> Option<SelectStatement> {
    let mut lanes = lanes.into_iter().enumerate().map(|(i, lane)| {
        Query::select()
            .column(Asterisk)
            .from_subquery(lane, Alias::new(format!("lane{i}")))
            .to_owned()
    });
    let mut all = lanes.next()?;
    for lane in lanes {
        all.union(UnionType::All, lane);
    }
    Some(all)
}

/// Up to `limit` rows of the account matching the filter from `position`, newest first.
pub async fn rows<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    filter: &HistoryFilter,
    tz: Tz,
    position: Position,
    limit: u64,
) -> Result<Vec<Record>, DbErr> {
    let range = window(filter, tz);
    let lanes = scans(filter)
        .into_iter()
        .map(|scan| {
            let lane = bounded(base(account_id, filter.bucket, scan), range, position);
            record_columns(lane).limit(limit).into_query()
        })
        .collect();
    let Some(all) = all_lanes(lanes) else {
        return Ok(Vec::new());
    };
    // Newest first; for `Before`, the `limit` rows just above the position (oldest
    // first), then turned around.
    let order = match position {
        Position::Before(..) => Order::Asc,
        Position::Start | Position::After(..) => Order::Desc,
    };
    let merged = Query::select()
        .column(Asterisk)
        .from_subquery(all, Alias::new("merged"))
        .order_by(transaction::Column::CreatedAt, order.clone())
        .order_by(transaction::Column::Id, order)
        .limit(limit)
        .to_owned();
    let backend = conn.get_database_backend();
    let mut found = Record::find_by_statement(backend.build(&merged))
        .all(conn)
        .await?;
    if let Position::Before(..) = position {
        found.reverse();
    }
    Ok(found)
}

/// Every row of the account matching the filter, newest first, read in batches: a
/// k-way merge of one keyset stream per scan (`Scan`). Each lane refills only
/// when it runs dry, so every row is read once, in index order, whatever the row count.
pub struct RowStream<'a, C> {
    conn: &'a C,
    account_id: String,
    bucket: Bucket,
    range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    lanes: Vec<Lane>,
    lane_batch: u64,
}

struct Lane {
    scan: Scan,
    buffer: std::collections::VecDeque<Record>,
    /// The last row taken from the database, where the next refill starts.
    last: Option<(DateTime<Utc>, i64)>,
    exhausted: bool,
}

impl<'a, C: ConnectionTrait> RowStream<'a, C> {
    /// Starts a stream; each lane reads `lane_batch` rows at a time.
    pub fn new(
        conn: &'a C,
        account_id: &str,
        filter: &HistoryFilter,
        tz: Tz,
        lane_batch: u64,
    ) -> Self {
        RowStream {
            conn,
            account_id: account_id.to_owned(),
            bucket: filter.bucket,
            range: window(filter, tz),
            lanes: scans(filter)
                .into_iter()
                .map(|scan| Lane {
                    scan,
                    buffer: Default::default(),
                    last: None,
                    exhausted: false,
                })
                .collect(),
            lane_batch: lane_batch.max(1),
        }
    }

    async fn refill(&mut self, lane: usize) -> Result<(), DbErr> {
        let l = &self.lanes[lane];
        let position = match l.last {
            Some((at, id)) => Position::After(at, id),
            None => Position::Start,
        };
        let q = bounded(
            base(&self.account_id, self.bucket, l.scan),
            self.range,
            position,
        );
        let found = records_in_one_row(self.conn, q.limit(self.lane_batch)).await?;
        let l = &mut self.lanes[lane];
        l.exhausted = (found.len() as u64) < self.lane_batch;
        l.last = found.last().map(|r| (r.created_at, r.id));
        l.buffer.extend(found);
        Ok(())
    }

    /// The next up-to-`size` rows; empty when the stream is done.
    pub async fn next_batch(&mut self, size: usize) -> Result<Vec<Record>, DbErr> {
        let mut out = Vec::with_capacity(size);
        while out.len() < size {
            for lane in 0..self.lanes.len() {
                if self.lanes[lane].buffer.is_empty() && !self.lanes[lane].exhausted {
                    self.refill(lane).await?;
                }
            }
            let newest = self
                .lanes
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.buffer.front().map(|r| (i, (r.created_at, r.id))))
                .max_by_key(|(_, key)| *key);
            let Some((lane, _)) = newest else { break };
            if let Some(row) = self.lanes[lane].buffer.pop_front() {
                out.push(row);
            }
        }
        Ok(out)
    }
}

/// How many rows of the account match the filter (all pages), counted up to one past
/// [`Matches::LIMIT`] so that the count costs at most that many index entries.
pub async fn count<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    filter: &HistoryFilter,
    tz: Tz,
) -> Result<Matches, HistoryError> {
    filter.validate()?;
    let range = window(filter, tz);
    let over = Matches::LIMIT + 1;
    let lanes = scans(filter)
        .into_iter()
        .map(|scan| {
            bounded(
                base(account_id, filter.bucket, scan),
                range,
                Position::Start,
            )
            // Only the id, so each lane reads its index alone.
            .select_only()
            .column(transaction::Column::Id)
            .limit(over)
            .into_query()
        })
        .collect();
    let Some(all) = all_lanes(lanes) else {
        return Ok(Matches::Exactly(0));
    };
    // The outer LIMIT stops the lanes as soon as one past the limit is found.
    let capped = Query::select()
        .column(Asterisk)
        .from_subquery(all, Alias::new("matching"))
        .limit(over)
        .to_owned();
    let counted = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(capped, Alias::new("capped"))
        .to_owned();
    let n: i64 = match conn.query_one(&counted).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    let n = u64::try_from(n).unwrap_or(0);
    Ok(if n > Matches::LIMIT {
        Matches::MoreThan(Matches::LIMIT)
    } else {
        Matches::Exactly(n)
    })
}

/// The filters whose count has passed [`Matches::LIMIT`], remembered per process so a
/// large account's page skips its count: the count statement read 1,001 index entries on
/// every view, a fifth of a history page's server work (docs/benchmarks.md). Such a
/// count can never fall back under the limit, because ledger rows are only added: none
/// is deleted, and a row's account, bucket, service and time never change. Only a
/// top-up row's status does (`ledger::settle_top_up_in`; top-ups are the Payment Gateway
/// service), so a filter that names statuses is remembered only when its services leave
/// top-ups out. Should rows ever be deleted (a retention purge), or another kind of row
/// change status, this memo must change with it.
#[derive(Debug, Default)]
pub struct PastLimit(std::sync::Mutex<std::collections::HashSet<String>>);

impl PastLimit {
    /// Entries kept before the memo starts over: about a megabyte of keys.
    const MAX: usize = 10_000;

    /// [`count`], or [`Matches::MoreThan`] at once for a filter already seen past it.
    pub async fn count<C: ConnectionTrait>(
        &self,
        conn: &C,
        account_id: &str,
        filter: &HistoryFilter,
        tz: Tz,
    ) -> Result<Matches, HistoryError> {
        let Some(key) = Self::key(account_id, filter, tz) else {
            return count(conn, account_id, filter, tz).await;
        };
        if self.set().contains(&key) {
            return Ok(Matches::MoreThan(Matches::LIMIT));
        }
        let counted = count(conn, account_id, filter, tz).await?;
        if let Matches::MoreThan(_) = counted {
            let mut set = self.set();
            if set.len() >= Self::MAX {
                set.clear();
            }
            set.insert(key);
        }
        Ok(counted)
    }

    /// Whether the filter is remembered past the limit for this account.
    pub fn knows(&self, account_id: &str, filter: &HistoryFilter, tz: Tz) -> bool {
        Self::key(account_id, filter, tz).is_some_and(|key| self.set().contains(&key))
    }

    /// What identifies the rows a filter counts (the account, the bucket, the services
    /// in a fixed order, the statuses and the date range as instants); none for a filter
    /// whose rows can leave it (statuses over top-ups), or one the count would refuse.
    fn key(account_id: &str, filter: &HistoryFilter, tz: Tz) -> Option<String> {
        let top_ups =
            filter.services.is_empty() || filter.services.contains(&Service::PaymentGateway);
        if (!filter.statuses.is_empty() && top_ups) || filter.validate().is_err() {
            return None;
        }
        let mut statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut services: Vec<&str> = filter.services.iter().map(|s| s.as_str()).collect();
        services.sort_unstable();
        services.dedup();
        let (start, end) = window(filter, tz);
        let instant = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp()).unwrap_or(i64::MIN);
        Some(format!(
            "{account_id}|{}|{}|{}|{}|{}",
            filter.bucket.as_str(),
            services.join(","),
            statuses.join(","),
            instant(start),
            instant(end)
        ))
    }

    fn set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        // A panic while holding the lock left a set of keys, each still true.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A ledger row as the table shows it.
pub fn to_row(row: &Record, currency: Currency, dates: impl Into<LocalTime>) -> HistoryRow {
    let dates = dates.into();
    let (source, description) = row.words(dates.language);
    HistoryRow {
        id: row.id,
        date: dates.date_time(row.created_at),
        service: row
            .service
            .as_deref()
            .and_then(Service::parse)
            .unwrap_or(Service::System),
        source: source.into_owned(),
        description: description.into_owned(),
        code: row.voucher_code.clone(),
        status: Status::parse(&row.status).unwrap_or(Status::Processed),
        amount: Money::from_minor(row.amount_minor, currency),
    }
}

/// One page of the account's history for the filter (and its cursor).
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
    dates: impl Into<LocalTime>,
    filter: &HistoryFilter,
) -> Result<HistoryPage, HistoryError> {
    filter.validate()?;
    let dates = dates.into();
    let tz = dates.tz;
    let position = match &filter.cursor {
        None => Position::Start,
        Some(c) => decode_cursor(c)?,
    };
    let size = u64::from(filter.page_size);
    // One row more than the page tells whether another page lies beyond.
    let mut found = rows(conn, account_id, filter, tz, position, size + 1).await?;
    let beyond = found.len() as u64 > size;
    if beyond {
        match position {
            Position::Before(..) => {
                found.remove(0);
            }
            _ => {
                found.pop();
            }
        }
    }
    let (has_newer, has_older) = match position {
        Position::Start => (false, beyond),
        Position::After(..) => (true, beyond),
        Position::Before(..) => (beyond, true),
    };
    Ok(HistoryPage {
        next: has_older.then(|| found.last().map(encode_cursor)).flatten(),
        previous: has_newer
            .then(|| found.first().map(encode_cursor))
            .flatten(),
        rows: found.iter().map(|r| to_row(r, currency, dates)).collect(),
        time_zone: tz.name().to_owned(),
    })
}
