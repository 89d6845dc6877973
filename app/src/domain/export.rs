//! Export Excel: every row of the account that matches the filter (not just a page),
//! streamed from the database in keyset batches into rust_xlsxwriter's constant-memory
//! mode, so memory stays flat whatever the row count.
//!
//! The writer runs on a blocking thread; the database side sends it batches through a
//! channel of two, so at most three batches are in memory at once.
//!
//! Cells: dates are real Excel date-times in the user's time zone; amounts are numbers
//! with the currency's format (Excel stores numbers as binary doubles, so the exact
//! decimal is converted at this last step; amounts of up to 15 significant digits come
//! back exactly); text that a spreadsheet could take for a formula is written with a
//! quote prefix, so it is never evaluated.

use super::db::Db;
use super::history::{self, Record};
use super::settings::LocalTime;
use crate::i18n::Locale;
use crate::model::history::HistoryFilter;
use crate::model::ledger::{Bucket, Service, Status};
use crate::model::money::{Currency, Money};
use crate::model::settings::Language;
use chrono::NaiveDate;
use leptos_i18n::td_string;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Excel's last row is 1,048,576; one is the header.
pub const MAX_DATA_ROWS_PER_SHEET: u32 = 1_048_575;

/// How an export is cut up.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions {
    /// Data rows per sheet before the export continues on the next sheet.
    pub rows_per_sheet: u32,
    /// Rows fetched from the database at a time.
    pub batch: u64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            rows_per_sheet: MAX_DATA_ROWS_PER_SHEET,
            batch: 5_000,
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    History(#[from] history::HistoryError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("writing the workbook failed: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("the export's writer stopped: {0}")]
    Writer(String),
}

/// `credit-history-<topup|voucher>-<YYYY-MM-DD>.xlsx`, dated in the user's time zone.
pub fn file_name(bucket: Bucket, today: NaiveDate) -> String {
    let kind = match bucket {
        Bucket::TopUp => "topup",
        Bucket::Voucher => "voucher",
    };
    format!("credit-history-{kind}-{}.xlsx", today.format("%Y-%m-%d"))
}

/// The Excel number format for a currency: its decimals and sign, e.g. `"$"#,##0.00`.
pub fn number_format(currency: Currency) -> String {
    let digits = match currency.minor_units() {
        0 => "#,##0".to_owned(),
        n => format!("#,##0.{}", "0".repeat(usize::try_from(n).unwrap_or(2))),
    };
    let sign = currency.symbol();
    if currency.symbol_first() {
        format!("\"{sign}\"{digits}")
    } else {
        format!("{digits} \"{sign}\"")
    }
}

/// Whether a spreadsheet would read this text as a formula (or a DDE payload).
pub fn looks_like_formula(text: &str) -> bool {
    matches!(
        text.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    )
}

/// The columns, with Code only for Voucher credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Date,
    Service,
    Source,
    Description,
    Code,
    Status,
    Amount,
}

impl Column {
    fn of(bucket: Bucket) -> Vec<Column> {
        use Column::*;
        let mut columns = vec![Date, Service, Source, Description];
        if bucket == Bucket::Voucher {
            columns.push(Code);
        }
        columns.extend([Status, Amount]);
        columns
    }

    fn width(self) -> f64 {
        match self {
            Column::Date => 20.0,
            Column::Service => 18.0,
            Column::Source => 28.0,
            Column::Description => 48.0,
            Column::Code => 16.0,
            Column::Status => 11.0,
            Column::Amount => 18.0,
        }
    }

    /// The heading, in the language of the page the export was asked from (the same
    /// words the Credit History table uses; services and statuses too, from
    /// `ui::messages`, the one place they are worded).
    fn heading(self, locale: Locale) -> &'static str {
        match self {
            Column::Date => td_string!(locale, history.date),
            Column::Service => td_string!(locale, history.service),
            Column::Source => td_string!(locale, history.source),
            Column::Description => td_string!(locale, history.description),
            Column::Code => td_string!(locale, history.code),
            Column::Status => td_string!(locale, history.status),
            Column::Amount => td_string!(locale, history.amount),
        }
    }
}

/// The column headings in `language`, with Code only for Voucher credits.
pub fn headings(bucket: Bucket, language: Language) -> Vec<&'static str> {
    Column::of(bucket)
        .into_iter()
        .map(|c| c.heading(language.locale()))
        .collect()
}

struct Sheets {
    workbook: Workbook,
    bucket: Bucket,
    currency: Currency,
    dates: LocalTime,
    rows_per_sheet: u32,
    sheets: usize,
    row_in_sheet: u32,
    header: Format,
    date: Format,
    amount: Format,
    quoted: Format,
}

impl Sheets {
    fn new(
        bucket: Bucket,
        currency: Currency,
        dates: LocalTime,
        rows_per_sheet: u32,
    ) -> Result<Self, XlsxError> {
        let mut sheets = Sheets {
            workbook: Workbook::new(),
            bucket,
            currency,
            dates,
            rows_per_sheet: rows_per_sheet.clamp(1, MAX_DATA_ROWS_PER_SHEET),
            sheets: 0,
            row_in_sheet: 0,
            header: Format::new().set_bold(),
            // Real Excel dates, shown in the customer's date format.
            date: Format::new().set_num_format(dates.format.excel_pattern()),
            amount: Format::new().set_num_format(number_format(currency)),
            quoted: Format::new().set_quote_prefix(),
        };
        sheets.add_sheet()?;
        Ok(sheets)
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        self.workbook.worksheet_from_index(self.sheets - 1)
    }

    fn add_sheet(&mut self) -> Result<(), XlsxError> {
        self.finish_sheet()?;
        let locale = self.dates.language.locale();
        let name = match self.sheets {
            0 => td_string!(locale, export.sheet).to_owned(),
            n => td_string!(locale, export.sheet_n, n = n + 1).to_string(),
        };
        let header = self.header.clone();
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, column) in Column::of(self.bucket).into_iter().enumerate() {
            let col = u16::try_from(col).unwrap_or(0);
            sheet.set_column_width(col, column.width())?;
            sheet.write_string_with_format(0, col, column.heading(locale), &header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.sheets += 1;
        self.row_in_sheet = 0;
        Ok(())
    }

    /// Puts the autofilter over the finished sheet's rows.
    fn finish_sheet(&mut self) -> Result<(), XlsxError> {
        if self.sheets == 0 {
            return Ok(());
        }
        let last_col = u16::try_from(Column::of(self.bucket).len() - 1).unwrap_or(0);
        let last_row = self.row_in_sheet;
        self.sheet()?.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }

    fn text(&mut self, row: u32, col: u16, text: &str) -> Result<(), XlsxError> {
        if looks_like_formula(text) {
            let quoted = self.quoted.clone();
            self.sheet()?
                .write_string_with_format(row, col, text, &quoted)?;
        } else {
            self.sheet()?.write_string(row, col, text)?;
        }
        Ok(())
    }

    fn write(&mut self, tx: &Record) -> Result<(), XlsxError> {
        if self.row_in_sheet == self.rows_per_sheet {
            self.add_sheet()?;
        }
        self.row_in_sheet += 1;
        let row = self.row_in_sheet;
        let local = tx.created_at.with_timezone(&self.dates.tz).naive_local();
        let (date, amount) = (self.date.clone(), self.amount.clone());
        self.sheet()?
            .write_datetime_with_format(row, 0, local, &date)?;
        let service = tx
            .service
            .as_deref()
            .and_then(Service::parse)
            .unwrap_or(Service::System);
        let locale = self.dates.language.locale();
        self.text(row, 1, crate::ui::messages::service(locale, service))?;
        let (source, description) = tx.words(self.dates.language);
        self.text(row, 2, &source)?;
        self.text(row, 3, &description)?;
        let mut col = 4;
        if self.bucket == Bucket::Voucher {
            self.text(row, col, tx.voucher_code.as_deref().unwrap_or(""))?;
            col += 1;
        }
        let status =
            Status::parse(&tx.status).map_or("", |s| crate::ui::messages::status(locale, s));
        self.text(row, col, status)?;
        let value = Money::from_minor(tx.amount_minor, self.currency).amount();
        self.sheet()?
            .write_with_format(row, col + 1, value, &amount)?;
        Ok(())
    }

    fn save(mut self, path: &Path) -> Result<(), XlsxError> {
        self.finish_sheet()?;
        self.workbook.save(path)
    }
}

/// Writes rows already in memory, with the same cells and formats as [`write_xlsx`]:
/// the benchmark's baseline (rust_xlsxwriter's own speed, without the database).
pub fn write_rows(
    rows: &[Record],
    bucket: Bucket,
    currency: Currency,
    dates: impl Into<LocalTime>,
    path: &Path,
    rows_per_sheet: u32,
) -> Result<u64, XlsxError> {
    let mut sheets = Sheets::new(bucket, currency, dates.into(), rows_per_sheet)?;
    for tx in rows {
        sheets.write(tx)?;
    }
    sheets.save(path)?;
    Ok(rows.len() as u64)
}

/// Writes every row of `account_id` matching `filter` (its cursor ignored) to an .xlsx
/// file at `path`; returns how many rows were written.
pub async fn write_xlsx(
    db: &Db,
    account_id: &str,
    currency: Currency,
    dates: impl Into<LocalTime>,
    filter: &HistoryFilter,
    path: &Path,
    options: ExportOptions,
) -> Result<u64, ExportError> {
    let dates = dates.into();
    filter.validate().map_err(history::HistoryError::from)?;
    let (send, mut receive) = tokio::sync::mpsc::channel::<Vec<Record>>(2);
    let target = path.to_owned();
    let bucket = filter.bucket;
    let rows_per_sheet = options.rows_per_sheet;
    let writer = tokio::task::spawn_blocking(move || -> Result<u64, XlsxError> {
        let mut sheets = Sheets::new(bucket, currency, dates, rows_per_sheet)?;
        let mut written = 0;
        while let Some(batch) = receive.blocking_recv() {
            for tx in &batch {
                sheets.write(tx)?;
                written += 1;
            }
        }
        sheets.save(&target)?;
        Ok(written)
    });

    let size = usize::try_from(options.batch).unwrap_or(5_000);
    let mut rows = history::RowStream::new(db.conn(), account_id, filter, dates.tz, options.batch);
    let fetched = loop {
        match rows.next_batch(size).await {
            Ok(batch) if batch.is_empty() => break Ok(()),
            Ok(batch) => {
                if send.send(batch).await.is_err() {
                    break Ok(()); // the writer failed; its error is reported below
                }
            }
            Err(e) => break Err(ExportError::from(e)),
        }
    };
    drop(send);
    let written = writer
        .await
        .map_err(|e| ExportError::Writer(e.to_string()))??;
    fetched?;
    Ok(written)
}
