//! The county's hospital register (医院名录): where a member was treated. The level and the
//! location decide which claim rules apply (reimbursement ratios differ by hospital level, and
//! treatment outside the province or abroad is handled apart), so they are closed vocabularies.

use crate::text::{self, TextError};
use crate::RegionCode;
use std::fmt;
use std::str::FromStr;

crate::coded_enum! {
    /// The hospital's grade (医院等级) as the claim rules distinguish it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum HospitalLevel {
        /// 三级医院: provincial and large city hospitals, some county people's hospitals.
        Tertiary => ("tertiary", "三级医院"),
        /// 二级医院: most county people's and TCM hospitals.
        Secondary => ("secondary", "二级医院"),
        /// 一级医院: community hospitals.
        Primary => ("primary", "一级医院"),
        /// 乡镇卫生院: the township health centre.
        Township => ("township", "乡镇卫生院"),
        /// 民营医院/诊所: private hospitals and clinics.
        PrivateClinic => ("private_clinic", "民营医院/诊所"),
    }
}

crate::coded_enum! {
    /// Where the hospital is, relative to the county's province.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum HospitalLocation {
        /// 省内
        InProvince => ("in_province", "省内"),
        /// 省外
        OutOfProvince => ("out_of_province", "省外"),
        /// 境外（含港澳台）
        Abroad => ("abroad", "境外（含港澳台）"),
    }
}

/// A hospital's id in the register. Typed so that a hospital id cannot be passed where a year's
/// or a household's is expected.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct HospitalId(pub i64);

impl HospitalId {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for HospitalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a hospital id in a path or form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("医院编号无效")]
pub struct BadHospitalId;

impl FromStr for HospitalId {
    type Err = BadHospitalId;
    /// Plain decimal digits of a positive id: no sign, no spaces.
    fn from_str(s: &str) -> Result<HospitalId, BadHospitalId> {
        if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadHospitalId);
        }
        match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(HospitalId(n)),
            _ => Err(BadHospitalId),
        }
    }
}

/// A hospital's name as typed: one line, trimmed, 2 to [`HospitalName::MAX`] characters, no
/// hidden characters (`text::is_hidden`).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct HospitalName(String);

/// Why a hospital name was refused (the message is shown next to the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HospitalNameError {
    #[error("请填写医院名称")]
    Empty,
    #[error("医院名称过短（至少2个字）")]
    TooShort,
    #[error("医院名称过长（最多60个字）")]
    TooLong,
    #[error("医院名称含有不可见或控制字符，请重新输入")]
    Hidden,
}

impl HospitalName {
    pub const MIN: usize = 2;
    pub const MAX: usize = 60;

    pub fn parse(input: &str) -> Result<HospitalName, HospitalNameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(HospitalNameError::Empty);
        }
        text::check(s, Self::MAX).map_err(|e| match e {
            TextError::Empty => HospitalNameError::Empty,
            TextError::TooLong { .. } => HospitalNameError::TooLong,
            TextError::Hidden => HospitalNameError::Hidden,
        })?;
        if s.chars().count() < Self::MIN {
            return Err(HospitalNameError::TooShort);
        }
        Ok(HospitalName(s.to_string()))
    }

    /// A name read back from the database, which only ever holds parsed names.
    pub fn from_stored(s: String) -> HospitalName {
        HospitalName(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HospitalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HospitalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HospitalName({:?})", self.0)
    }
}

/// One hospital of a county's register, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hospital {
    pub id: HospitalId,
    /// The county that keeps the register this hospital is on.
    pub county_code: RegionCode,
    pub name: HospitalName,
    pub level: HospitalLevel,
    /// 医保定点: designated by the basic medical insurance.
    pub designated: bool,
    pub location: HospitalLocation,
    /// Inactive hospitals stay on the register (claims cite them) but are not offered on new
    /// claims.
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_round_trip_and_labels_are_unique() {
        let mut codes = HashSet::new();
        let mut labels = HashSet::new();
        for l in HospitalLevel::ALL {
            assert_eq!(HospitalLevel::from_code(l.code()), Some(l));
            assert!(codes.insert(l.code()) && labels.insert(l.label_zh()));
        }
        for l in HospitalLocation::ALL {
            assert_eq!(HospitalLocation::from_code(l.code()), Some(l));
            assert!(codes.insert(l.code()) && labels.insert(l.label_zh()));
        }
        assert_eq!(HospitalLevel::from_code("Tertiary"), None);
        assert_eq!(HospitalLocation::from_code(""), None);
    }

    /// Stored in `hospitals.level` / `hospitals.location`: they must not move.
    #[test]
    fn stored_codes_are_unchanged() {
        let levels: Vec<&str> = HospitalLevel::ALL.iter().map(|l| l.code()).collect();
        assert_eq!(
            levels,
            [
                "tertiary",
                "secondary",
                "primary",
                "township",
                "private_clinic"
            ]
        );
        let locations: Vec<&str> = HospitalLocation::ALL.iter().map(|l| l.code()).collect();
        assert_eq!(locations, ["in_province", "out_of_province", "abroad"]);
    }

    #[test]
    fn ids_parse_plain_positive_digits_only() {
        assert_eq!("42".parse::<HospitalId>(), Ok(HospitalId(42)));
        assert_eq!(HospitalId(42).to_string(), "42");
        for bad in ["", "0", "-1", "+1", " 1", "1x", "99999999999999999999"] {
            assert_eq!(bad.parse::<HospitalId>(), Err(BadHospitalId), "{bad:?}");
        }
        fn is_serde<T: serde::Serialize + for<'de> serde::Deserialize<'de>>() {}
        is_serde::<HospitalId>();
    }

    #[test]
    fn names_are_trimmed_bounded_and_visible() {
        assert_eq!(
            HospitalName::parse("  沂源县人民医院 ").unwrap().as_str(),
            "沂源县人民医院"
        );
        assert_eq!(HospitalName::parse("   "), Err(HospitalNameError::Empty));
        assert_eq!(HospitalName::parse("院"), Err(HospitalNameError::TooShort));
        assert!(HospitalName::parse(&"医".repeat(60)).is_ok());
        assert_eq!(
            HospitalName::parse(&"医".repeat(61)),
            Err(HospitalNameError::TooLong)
        );
        for bad in [
            "沂源\u{200B}医院",
            "沂源\0医院",
            "沂源\u{202E}医院",
            "沂源\n医院",
        ] {
            assert_eq!(HospitalName::parse(bad), Err(HospitalNameError::Hidden));
        }
    }
}
