//! Integration tests: the real app over HTTP, on SQLite and on PostgreSQL.

mod claims;
mod common;
mod figures;
mod hospitals;
mod hostile;
mod import;
mod payout;
mod public_notice;
mod races;
mod roster;
mod scope;
mod security;
mod years;
