//! Integration tests: the real app over HTTP, on SQLite and on PostgreSQL.

mod common;
mod hostile;
mod hospitals;
mod import;
mod races;
mod roster;
mod scope;
mod security;
mod years;
