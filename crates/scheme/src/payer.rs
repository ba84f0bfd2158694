//! Who money comes from. The same vocabulary is used by the rules (who owes a member's dues),
//! the pool figures (money due per payer) and the ledger (contributions per payer), so a yuan
//! can be followed from the rule that asked for it to the posting that received it.

use std::fmt;
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    Personal,
    VillageCollective,
    Town,
    County,
    /// The government's reward for the pool's participation rate (奖励补助). Full payment of a
    /// personal part is booked against the level of government that bears it (usually
    /// [`Payer::County`] or [`Payer::Town`]), not here.
    Government,
    /// Charities, donors and sponsors (慈善、乡贤、爱心企业).
    Charity,
}

impl Payer {
    pub const ALL: [Payer; 6] = [
        Self::Personal,
        Self::VillageCollective,
        Self::Town,
        Self::County,
        Self::Government,
        Self::Charity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::VillageCollective => "village_collective",
            Self::Town => "town",
            Self::County => "county",
            Self::Government => "government",
            Self::Charity => "charity",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Personal => "个人出资",
            Self::VillageCollective => "村集体",
            Self::Town => "乡镇财政",
            Self::County => "县级财政",
            Self::Government => "政府奖励补助",
            Self::Charity => "慈善捐赠",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == s)
    }
}

impl fmt::Display for Payer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的出资方：{0}")]
pub struct UnknownPayer(pub String);

impl FromStr for Payer {
    type Err = UnknownPayer;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s.trim()).ok_or_else(|| UnknownPayer(s.trim().to_string()))
    }
}

/// The level at which money is pooled: a town pools its villages, a county pools its towns.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PoolLevel {
    Town,
    County,
}

impl PoolLevel {
    pub const ALL: [PoolLevel; 2] = [Self::Town, Self::County];
    pub fn code(self) -> &'static str {
        match self {
            Self::Town => "town",
            Self::County => "county",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Town => "镇级统筹",
            Self::County => "县级统筹",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_text_and_json() {
        for p in Payer::ALL {
            assert_eq!(Payer::from_code(p.code()), Some(p));
            assert_eq!(p.code().parse::<Payer>(), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.code()));
        }
        assert!("nobody".parse::<Payer>().is_err());
        for l in PoolLevel::ALL {
            assert_eq!(PoolLevel::from_code(l.code()), Some(l));
        }
    }
}
