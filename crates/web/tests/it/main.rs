//! Integration tests: the real app over HTTP, on SQLite and on PostgreSQL.

mod common;
mod import;
mod roster;
mod scope;
mod security;
mod years;
