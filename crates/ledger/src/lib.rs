//! The fund's ledger as pure logic: a double-entry journal in fen whose postings form a hash
//! chain. The store persists postings; this crate decides what a valid entry is, how a posting
//! is hashed, whether a stored chain is intact, and what the sums mean.

pub mod accounts;
pub mod balance;
pub mod chain;
pub mod entry;

pub use accounts::{Account, AccountKind};
pub use balance::{AccountTotal, BalanceError, TrialBalance};
pub use chain::{Break, BreakReason, ChainKey, StoredPosting, Verified, Verifier, GENESIS};
pub use entry::{Entry, EntryError, EntryKind, Line};
