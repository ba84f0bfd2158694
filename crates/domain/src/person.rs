//! Attributes of a registered resident that the programme's rules look at.

use std::fmt;

/// Basic medical insurance of the member: it decides the claim threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InsuranceType {
    /// 城乡居民基本医疗保险
    Resident,
    /// 城镇职工基本医疗保险
    Employee,
    /// 未参保
    Uninsured,
}

impl InsuranceType {
    pub const ALL: [InsuranceType; 3] = [Self::Resident, Self::Employee, Self::Uninsured];
    pub fn code(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Employee => "employee",
            Self::Uninsured => "uninsured",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Resident => "城乡居民医保",
            Self::Employee => "城镇职工医保",
            Self::Uninsured => "未参保",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == s)
    }
    /// Accepts the Chinese label or common short forms used in spreadsheets.
    pub fn parse_zh(s: &str) -> Option<Self> {
        match s.trim() {
            "城乡居民医保" | "居民医保" | "城乡居民" | "居民" | "城乡居民基本医疗保险" => {
                Some(Self::Resident)
            }
            "城镇职工医保" | "职工医保" | "职工" | "城镇职工" | "城镇职工基本医疗保险" => {
                Some(Self::Employee)
            }
            "未参保" | "无" | "未参加" => Some(Self::Uninsured),
            other => Self::from_code(other),
        }
    }
}

/// Statuses that change who pays the personal fee (e.g. full government payment for
/// poverty-monitored people).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SpecialStatus {
    /// 脱贫享受政策人口
    PovertyAlleviated,
    /// 防返贫监测对象
    PovertyMonitored,
    /// 低保
    MinimumLiving,
    /// 特困
    ExtremeHardship,
}

impl SpecialStatus {
    pub const ALL: [SpecialStatus; 4] = [
        Self::PovertyAlleviated,
        Self::PovertyMonitored,
        Self::MinimumLiving,
        Self::ExtremeHardship,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Self::PovertyAlleviated => "poverty_alleviated",
            Self::PovertyMonitored => "poverty_monitored",
            Self::MinimumLiving => "minimum_living",
            Self::ExtremeHardship => "extreme_hardship",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::PovertyAlleviated => "脱贫享受政策",
            Self::PovertyMonitored => "防返贫监测",
            Self::MinimumLiving => "低保",
            Self::ExtremeHardship => "特困",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == s)
    }
    pub fn parse_zh(s: &str) -> Option<Self> {
        match s.trim() {
            "脱贫享受政策" | "脱贫享受政策人口" | "脱贫人口" => {
                Some(Self::PovertyAlleviated)
            }
            "防返贫监测" | "防返贫监测对象" | "监测对象" => {
                Some(Self::PovertyMonitored)
            }
            "低保" | "低保对象" => Some(Self::MinimumLiving),
            "特困" | "特困人员" | "特困供养" => Some(Self::ExtremeHardship),
            other => Self::from_code(other),
        }
    }
}

/// Relation to the head of household (与户主关系), following the household register's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    ChildInLaw,
    Sibling,
    Grandparent,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 9] = [
        Self::Head,
        Self::Spouse,
        Self::Child,
        Self::Parent,
        Self::Grandchild,
        Self::ChildInLaw,
        Self::Sibling,
        Self::Grandparent,
        Self::Other,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Spouse => "spouse",
            Self::Child => "child",
            Self::Parent => "parent",
            Self::Grandchild => "grandchild",
            Self::ChildInLaw => "child_in_law",
            Self::Sibling => "sibling",
            Self::Grandparent => "grandparent",
            Self::Other => "other",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Head => "户主",
            Self::Spouse => "配偶",
            Self::Child => "子女",
            Self::Parent => "父母",
            Self::Grandchild => "孙子女",
            Self::ChildInLaw => "儿媳/女婿",
            Self::Sibling => "兄弟姐妹",
            Self::Grandparent => "祖父母",
            Self::Other => "其他",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == s)
    }
    pub fn parse_zh(s: &str) -> Option<Self> {
        match s.trim() {
            "户主" | "本人" => Some(Self::Head),
            "配偶" | "妻" | "夫" | "妻子" | "丈夫" => Some(Self::Spouse),
            "子女" | "子" | "女" | "儿子" | "女儿" | "长子" | "长女" | "次子" | "次女" => {
                Some(Self::Child)
            }
            "父母" | "父亲" | "母亲" | "父" | "母" => Some(Self::Parent),
            "孙子女" | "孙子" | "孙女" | "外孙子" | "外孙女" => Some(Self::Grandchild),
            "儿媳/女婿" | "儿媳" | "女婿" => Some(Self::ChildInLaw),
            "兄弟姐妹" | "兄" | "弟" | "姐" | "妹" => Some(Self::Sibling),
            "祖父母" | "祖父" | "祖母" | "外祖父" | "外祖母" => {
                Some(Self::Grandparent)
            }
            "其他" => Some(Self::Other),
            other => Self::from_code(other),
        }
    }
}

/// A person's name as written in the household register: 1–30 characters, no control
/// characters, inner "·" allowed for minority names.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("姓名不能为空")]
    Empty,
    #[error("姓名过长（最多30个字）")]
    TooLong,
    #[error("姓名含有不允许的字符")]
    BadCharacter,
}

impl PersonName {
    pub fn parse(input: &str) -> Result<PersonName, NameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > 30 {
            return Err(NameError::TooLong);
        }
        if s.chars()
            .any(|c| crate::text::is_hidden(c) || "<>\"'&;/\\{}".contains(c))
        {
            return Err(NameError::BadCharacter);
        }
        Ok(PersonName(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for t in InsuranceType::ALL {
            assert_eq!(InsuranceType::from_code(t.code()), Some(t));
            assert_eq!(InsuranceType::parse_zh(t.label_zh()), Some(t));
        }
        for s in SpecialStatus::ALL {
            assert_eq!(SpecialStatus::parse_zh(s.label_zh()), Some(s));
        }
        for r in Relation::ALL {
            assert_eq!(Relation::parse_zh(r.label_zh()), Some(r));
        }
    }

    #[test]
    fn names() {
        assert_eq!(PersonName::parse(" 王小明 ").unwrap().as_str(), "王小明");
        assert_eq!(
            PersonName::parse("买买提·艾力").unwrap().as_str(),
            "买买提·艾力"
        );
        assert_eq!(PersonName::parse("  "), Err(NameError::Empty));
        assert_eq!(PersonName::parse("<script>"), Err(NameError::BadCharacter));
    }

    #[test]
    fn names_with_hidden_characters_are_refused() {
        for bad in ["王\u{202E}丽", "王\u{200B}丽", "王\0丽", "\u{2066}王丽"] {
            assert_eq!(
                PersonName::parse(bad),
                Err(NameError::BadCharacter),
                "{bad:?}"
            );
        }
        assert!(PersonName::parse("阿依古丽·买买提").is_ok());
    }
}
