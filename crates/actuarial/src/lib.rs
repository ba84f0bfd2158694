//! The actuarial engine of Shouwang: how much the fund will pay in a scheme year, exactly, and
//! which subsidy table keeps it solvent.
//!
//! Subsidies are fixed amounts per DRG ("same disease, same subsidy"), so a member's yearly
//! benefit is a compound sum of amounts on a lattice (the gcd of all amounts): it is computed
//! exactly by Panjer's recursion with the yearly cap, and the town total by one FFT across risk
//! classes — on the exact lattice, or, for towns whose total spreads over millions of lattice
//! points, on a coarser one reached by mean-preserving mass dispersal, with the error this adds
//! reported. See `docs/actuarial.md` for the mathematics and the interpretation choices.

pub mod aggregate;
pub mod backtest;
pub mod bridge;
pub mod design;
pub mod normal;
pub mod panjer;
pub mod reforecast;
pub mod risk;

pub use aggregate::{
    payout_distribution, payout_distribution_at, payout_distribution_over, AggregateError,
    ClassRisk, PayoutDistribution, Resolution,
};
pub use panjer::{Frequency, Severity};
