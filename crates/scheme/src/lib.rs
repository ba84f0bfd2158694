//! One scheme year's rules and the arithmetic that follows from them: who pays what for a
//! member, whether a village is counted, what reward the pool earns, which stays qualify, when
//! a decision is due. Pure: the rules arrive as a value (stored as JSON with each version of
//! the year) and counts arrive from the caller's queries.
//!
//! Money is [`domain::Fen`] throughout and rates are integer per mille rounded down, because
//! the documents' thresholds are inclusive ("20%-30%（含20%）") and a village at 79.9% must not
//! round its way into an 80% rule.

pub mod calendar;
pub mod error;
pub mod payer;
pub mod pool;
pub mod rules;
pub mod templates;

pub use calendar::{china_calendar, china_calendar_2024_2027, WorkCalendar};
pub use error::RuleError;
pub use payer::{Payer, PoolLevel, UnknownPayer};
pub use pool::{
    participation_rate_permille, pool_figures, PoolFigures, StatusCount, TownFigures,
    VillageFigures, VillageInput,
};
pub use rules::{
    Balancing, ClaimThreshold, ClaimThresholds, CostBasis, Exclusion, FullSubsidy, MemberDues,
    RewardTier, SchemeRules, ServiceFee, SpecialVillage, ThresholdBasis,
};
pub use templates::{template, templates, Template, TEMPLATE_KEYS};
