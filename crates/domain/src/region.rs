//! Administrative division codes (统计用区划代码): 6 digits for a county, 9 for a town,
//! 12 for a village. A code's prefix is its ancestor's code, which is what makes
//! "this village lies inside that town" a string comparison rather than a tree walk.

use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum RegionLevel {
    County,
    Town,
    Village,
}

impl RegionLevel {
    pub fn code_len(self) -> usize {
        match self {
            Self::County => 6,
            Self::Town => 9,
            Self::Village => 12,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::County => "县（区）",
            Self::Town => "乡镇（街道）",
            Self::Village => "村（社区）",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::County => "county",
            Self::Town => "town",
            Self::Village => "village",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::County, Self::Town, Self::Village]
            .into_iter()
            .find(|l| l.code() == s)
    }
}

#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct RegionCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("区划代码应为6位（县）、9位（乡镇）或12位（村）数字")]
pub struct RegionCodeError;

impl RegionCode {
    pub fn parse(s: &str) -> Result<RegionCode, RegionCodeError> {
        let s = s.trim();
        if matches!(s.len(), 6 | 9 | 12) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(RegionCode(s.to_string()))
        } else {
            Err(RegionCodeError)
        }
    }
    pub fn level(&self) -> RegionLevel {
        match self.0.len() {
            6 => RegionLevel::County,
            9 => RegionLevel::Town,
            _ => RegionLevel::Village,
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True if `other` is this region or lies inside it.
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(&self.0)
    }
    pub fn parent(&self) -> Option<RegionCode> {
        match self.level() {
            RegionLevel::County => None,
            RegionLevel::Town => Some(RegionCode(self.0[..6].to_string())),
            RegionLevel::Village => Some(RegionCode(self.0[..9].to_string())),
        }
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_follows_prefixes() {
        let county = RegionCode::parse("320982").unwrap();
        let town = RegionCode::parse("320982106").unwrap();
        let village = RegionCode::parse("320982106201").unwrap();
        let other_town = RegionCode::parse("320982107").unwrap();
        assert!(county.contains(&village));
        assert!(town.contains(&village));
        assert!(!other_town.contains(&village));
        assert!(!village.contains(&town));
        assert_eq!(village.parent(), Some(town.clone()));
        assert_eq!(town.level(), RegionLevel::Town);
        assert!(RegionCode::parse("3209821").is_err());
    }
}
