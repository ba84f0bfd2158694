//! The monthly payout's bank side, as pure functions over values and bytes.
//!
//! - [`card`]: bank card numbers parsed at the edge (length, Luhn) and masking for notices.
//! - [`layout`]: bank file layouts, loaded from embedded TOML files — a new bank is a new
//!   layout file, not new code.
//! - [`file`]: the batch file itself (CSV or xlsx with a cover sheet for signatures), its
//!   hash and total, and amounts in Chinese capitals.
//! - [`results`]: the bank's result file (which lines were paid, which failed and why).
//!
//! Nothing here reads or writes files, talks to a bank or a database: callers hand in bytes
//! and values and get bytes and values back, so every rule is testable on its own.

pub mod card;
pub mod file;
pub mod layout;
pub mod results;

pub use card::{mask_name, BankCardNumber, CardError};
pub use file::{
    batch_hash, render_csv, render_xlsx, total, yuan_in_capitals, BatchHeader, FileError,
    LineProblem, PayLine,
};
pub use layout::{Column, CsvEncoding, Field, FileKind, Layout, LayoutError};
pub use results::{parse_results, Outcome, ResultLine, ResultsError, RowProblem};
