//! Credit History: the filter a person sets (kept in the URL so a view can be
//! bookmarked, reloaded and shared), and the page of rows the server returns.

use super::ledger::{Bucket, Service, Status};
use super::money::Money;
use chrono::NaiveDate;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// Rows per page a person can choose; the first is the default.
pub const PAGE_SIZES: [u32; 3] = [25, 50, 100];

/// Where a page starts: after (older than) or before (newer than) an opaque cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageCursor {
    After(String),
    Before(String),
}

/// The Credit History filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFilter {
    /// Top-up credits (the default) or Voucher credits.
    pub bucket: Bucket,
    /// Empty means every service.
    pub services: Vec<Service>,
    /// Empty means every status.
    pub statuses: Vec<Status>,
    /// First day shown, inclusive, in the user's time zone.
    pub start: Option<NaiveDate>,
    /// Last day shown, inclusive, in the user's time zone.
    pub end: Option<NaiveDate>,
    pub page_size: u32,
    pub cursor: Option<PageCursor>,
}

impl Default for HistoryFilter {
    fn default() -> Self {
        HistoryFilter {
            bucket: Bucket::TopUp,
            services: Vec::new(),
            statuses: Vec::new(),
            start: None,
            end: None,
            page_size: PAGE_SIZES[0],
            cursor: None,
        }
    }
}

/// A filter the server refuses, with a message for the person who set it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum FilterError {
    #[error("The end date must be on or after the start date.")]
    EndBeforeStart,
    #[error("Choose a page size of 25, 50 or 100.")]
    PageSize,
}

/// The services a bucket's rows can come from, in the order filters list them.
pub fn services_of(bucket: Bucket) -> [Service; 6] {
    let origin = match bucket {
        Bucket::TopUp => Service::PaymentGateway,
        Bucket::Voucher => Service::System,
    };
    [
        origin,
        Service::BillingPlans,
        Service::BillingSupport,
        Service::ModelFineTuning,
        Service::GpuContainer,
        Service::AiInference,
    ]
}

impl HistoryFilter {
    /// Checks what the URL alone cannot: the dates' order and the page size.
    pub fn validate(&self) -> Result<(), FilterError> {
        if let (Some(start), Some(end)) = (self.start, self.end)
            && end < start
        {
            return Err(FilterError::EndBeforeStart);
        }
        if !PAGE_SIZES.contains(&self.page_size) {
            return Err(FilterError::PageSize);
        }
        Ok(())
    }

    /// Reads a filter from URL query pairs. Unknown or malformed values are ignored (a
    /// hand-edited link still shows something sensible); `validate` catches the rest.
    pub fn from_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HistoryFilter {
        let mut filter = HistoryFilter::default();
        for (key, value) in pairs {
            match key {
                "balance" => {
                    if let Some(bucket) = Bucket::parse(value) {
                        filter.bucket = bucket;
                    }
                }
                "service" => {
                    if let Some(s) = Service::parse(value)
                        && !filter.services.contains(&s)
                    {
                        filter.services.push(s);
                    }
                }
                "status" => {
                    if let Some(s) = Status::parse(value)
                        && !filter.statuses.contains(&s)
                    {
                        filter.statuses.push(s);
                    }
                }
                "from" => filter.start = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok(),
                "to" => filter.end = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok(),
                "size" => filter.page_size = value.parse().unwrap_or(filter.page_size),
                "after" if !value.is_empty() => {
                    filter.cursor = Some(PageCursor::After(value.to_owned()));
                }
                "before" if !value.is_empty() => {
                    filter.cursor = Some(PageCursor::Before(value.to_owned()));
                }
                _ => {}
            }
        }
        // Services that cannot appear in this bucket would only empty the table.
        let possible = services_of(filter.bucket);
        filter.services.retain(|s| possible.contains(s));
        filter
    }

    /// The filter as URL query pairs; defaults are left out so links stay short.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if self.bucket != Bucket::TopUp {
            pairs.push(("balance", self.bucket.as_str().to_owned()));
        }
        for s in &self.services {
            pairs.push(("service", s.as_str().to_owned()));
        }
        for s in &self.statuses {
            pairs.push(("status", s.as_str().to_owned()));
        }
        if let Some(d) = self.start {
            pairs.push(("from", d.format("%Y-%m-%d").to_string()));
        }
        if let Some(d) = self.end {
            pairs.push(("to", d.format("%Y-%m-%d").to_string()));
        }
        if self.page_size != PAGE_SIZES[0] {
            pairs.push(("size", self.page_size.to_string()));
        }
        match &self.cursor {
            Some(PageCursor::After(c)) => pairs.push(("after", c.clone())),
            Some(PageCursor::Before(c)) => pairs.push(("before", c.clone())),
            None => {}
        }
        pairs
    }

    /// `?balance=voucher&service=…`, percent-encoded; empty for the default view.
    pub fn to_query_string(&self) -> String {
        let pairs = self.to_query();
        if pairs.is_empty() {
            return String::new();
        }
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        format!("?{}", encoded.join("&"))
    }

    /// Reads a filter from a URL's query string (with or without the leading `?`).
    pub fn from_query_string(query: &str) -> HistoryFilter {
        let decoded: Vec<(String, String)> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| {
                    percent_decode_str(&s.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (decode(k), decode(v))
            })
            .collect();
        HistoryFilter::from_query(decoded.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The same filter from its first page: what a change of filter leads to.
    pub fn first_page(&self) -> HistoryFilter {
        HistoryFilter {
            cursor: None,
            ..self.clone()
        }
    }

    /// Whether anything differs from the default view (other than the page).
    pub fn is_filtered(&self) -> bool {
        self.first_page()
            != HistoryFilter {
                page_size: self.page_size,
                ..HistoryFilter::default()
            }
    }
}

/// One row of the Credit History table, ready to show. Sent as an array, not an object
/// (below).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    /// Date and time in the user's time zone, e.g. `2026-11-24 11:42:05`.
    pub date: String,
    pub service: Service,
    pub source: String,
    pub description: String,
    /// The voucher code (shown only under Voucher credits).
    pub code: Option<String>,
    pub status: Status,
    /// Signed: positive adds credit.
    pub amount: Money,
}

/// A row goes to the browser as an array of its fields, in the order declared: a page
/// carries 25 to 100 rows, and written as objects the fields' names were about half of
/// its JSON and most of its quotes, each of which Leptos escapes again when it writes
/// the reply into the page's HTML for hydration (docs/benchmarks.md, "Pages under
/// load"). Only our server functions and pages read it.
impl Serialize for HistoryRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let HistoryRow {
            id,
            date,
            service,
            source,
            description,
            code,
            status,
            amount,
        } = self;
        (id, date, service, source, description, code, status, amount).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HistoryRow {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, date, service, source, description, code, status, amount) =
            Deserialize::deserialize(deserializer)?;
        Ok(HistoryRow {
            id,
            date,
            service,
            source,
            description,
            code,
            status,
            amount,
        })
    }
}

/// How many rows match a filter. Counting stops past [`Matches::LIMIT`]: an account
/// with a million rows would otherwise be counted in full on every view (the page itself
/// reads only its own rows), and nobody pages through forty pages to check. Counting
/// 10,000 still cost about as much as the page (the load test, docs/benchmarks.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Matches {
    Exactly(u64),
    /// More than [`Matches::LIMIT`].
    MoreThan(u64),
}

impl Matches {
    pub const LIMIT: u64 = 1_000;
}

/// A page of the Credit History.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    /// Cursor of the older page, if there is one.
    pub next: Option<String>,
    /// Cursor of the newer page, if there is one.
    pub previous: Option<String>,
    /// The time zone dates are shown in.
    pub time_zone: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_travels_as_an_array_and_comes_back_whole() {
        let row = HistoryRow {
            id: 7,
            date: "2026-11-24 11:42:05".to_owned(),
            service: Service::AiInference,
            source: "Credit \"main\"".to_owned(),
            description: "Inference".to_owned(),
            code: None,
            status: Status::Success,
            amount: Money::from_minor(-2500, super::super::money::Currency::Usd),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert!(json.starts_with("[7,\"2026-11-24 11:42:05\","), "{json}");
        assert!(!json.contains("\"description\""), "{json}");
        assert_eq!(serde_json::from_str::<HistoryRow>(&json).unwrap(), row);
        // An old reply (objects) or a short array is refused, not half read.
        assert!(serde_json::from_str::<HistoryRow>("{\"id\":7}").is_err());
        assert!(serde_json::from_str::<HistoryRow>("[7,\"2026-11-24\"]").is_err());
    }

    #[test]
    fn the_url_round_trips_every_filter() {
        let filter = HistoryFilter {
            bucket: Bucket::Voucher,
            services: vec![Service::GpuContainer, Service::System],
            statuses: vec![Status::Failed],
            start: NaiveDate::from_ymd_opt(2026, 1, 2),
            end: NaiveDate::from_ymd_opt(2026, 3, 4),
            page_size: 50,
            cursor: Some(PageCursor::After("abc_-".into())),
        };
        let pairs = filter.to_query();
        let back = HistoryFilter::from_query(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, filter);
        assert_eq!(
            filter.to_query_string(),
            "?balance=voucher&service=gpu%5Fcontainer&service=system&status=failed&from=2026%2D01%2D02&to=2026%2D03%2D04&size=50&after=abc%5F%2D"
        );
        assert_eq!(
            HistoryFilter::from_query_string(&filter.to_query_string()),
            filter
        );
        assert_eq!(
            HistoryFilter::from_query_string("balance=voucher&from=2026-01-02").start,
            NaiveDate::from_ymd_opt(2026, 1, 2)
        );
        assert_eq!(HistoryFilter::default().to_query_string(), "");
    }

    #[test]
    fn odd_urls_fall_back_to_sensible_values() {
        let f = HistoryFilter::from_query([
            ("balance", "gold"),
            ("service", "system"), // not possible under top-up credits
            ("service", "ai_inference"),
            ("service", "ai_inference"),
            ("from", "yesterday"),
        ]);
        assert_eq!(f.bucket, Bucket::TopUp);
        assert_eq!(f.services, vec![Service::AiInference]);
        assert_eq!(f.start, None);
    }

    #[test]
    fn refuses_an_end_before_the_start_and_odd_page_sizes() {
        let mut f = HistoryFilter {
            start: NaiveDate::from_ymd_opt(2026, 5, 2),
            end: NaiveDate::from_ymd_opt(2026, 5, 1),
            ..HistoryFilter::default()
        };
        assert_eq!(f.validate(), Err(FilterError::EndBeforeStart));
        f.end = f.start;
        assert_eq!(f.validate(), Ok(()));
        f.page_size = 1000;
        assert_eq!(f.validate(), Err(FilterError::PageSize));
    }
}
