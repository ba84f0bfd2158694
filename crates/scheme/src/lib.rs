//! One scheme year's rules and the arithmetic that follows from them.

pub mod payer;

pub use payer::{Payer, PoolLevel, UnknownPayer};
