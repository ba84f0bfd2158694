//! Money in integer fen (分). Floating point never touches an amount: sums, caps and
//! percentages are integer operations with explicit rounding.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("金额格式错误：{0}")]
    Format(String),
    #[error("金额超出范围")]
    Overflow,
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    /// The most any amount a person types may be: 1亿元. Bigger sums are typing mistakes or
    /// attacks, and letting one into the append-only ledger would overflow every total of the
    /// pool for good. Each pool's own, lower limits apply on top (`SchemeRules`).
    pub const MAX_TYPED: Fen = Fen::from_yuan(100_000_000);

    /// Parses "12", "12.5", "12.34", "-3.00", "1,234.50" as yuan. More than two decimals is an
    /// error rather than a silent rounding; so are thousands separators anywhere but between
    /// groups of three digits ("1,0,0" is not 100).
    pub fn parse_yuan(input: &str) -> Result<Fen, MoneyError> {
        let trimmed = input.trim();
        let err = || MoneyError::Format(trimmed.chars().take(40).collect());
        let s = ungroup(trimmed).ok_or_else(err)?;
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
            return Err(err());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let yuan: i64 = int.parse().map_err(|_| MoneyError::Overflow)?;
        let frac_fen: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let v = yuan
            .checked_mul(100)
            .and_then(|v| v.checked_add(frac_fen))
            .ok_or(MoneyError::Overflow)?;
        Ok(Fen(if neg { -v } else { v }))
    }

    /// Parses an amount a person typed: like [`Fen::parse_yuan`], but never above
    /// [`Fen::MAX_TYPED`] in size.
    pub fn parse_typed_yuan(input: &str) -> Result<Fen, MoneyError> {
        let v = Fen::parse_yuan(input)?;
        if v.0.checked_abs().is_none_or(|a| a > Fen::MAX_TYPED.0) {
            return Err(MoneyError::Overflow);
        }
        Ok(v)
    }

    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }

    pub fn checked_sub(self, o: Fen) -> Option<Fen> {
        self.0.checked_sub(o.0).map(Fen)
    }

    /// The sum, or None if it does not fit: for totals over stored amounts.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(items: I) -> Option<Fen> {
        items
            .into_iter()
            .try_fold(Fen::ZERO, |acc, f| acc.checked_add(f))
    }

    /// `self × numerator / denominator`, rounded half away from zero; used for percentages
    /// (e.g. a 10% loyalty bonus is `mul_ratio(110, 100)`).
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Fen {
        assert!(denominator > 0, "denominator must be positive");
        let p = i128::from(self.0) * i128::from(numerator);
        let d = i128::from(denominator);
        let q = if p >= 0 {
            (p + d / 2) / d
        } else {
            (p - d / 2) / d
        };
        Fen(i64::try_from(q).expect("money overflow"))
    }

    pub fn min(self, other: Fen) -> Fen {
        Fen(self.0.min(other.0))
    }
    pub fn max(self, other: Fen) -> Fen {
        Fen(self.0.max(other.0))
    }
}

/// The digits of `s` without thousands separators (',' or '，'), or None when a separator is
/// not followed by exactly three digits of the integer part.
fn ungroup(s: &str) -> Option<String> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let groups: Vec<&str> = int.split([',', '，']).collect();
    if groups.len() > 1 {
        let first = groups[0].trim_start_matches('-');
        let bad_first = first.is_empty() || first.len() > 3;
        if bad_first || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
    }
    let mut out = groups.concat();
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

impl fmt::Display for Fen {
    /// Yuan with two decimals and thousands separators: `1,234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::with_capacity(yuan.len() + yuan.len() / 3);
        for (i, ch) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(
            f,
            "{}{}.{:02}",
            if neg { "-" } else { "" },
            grouped,
            abs % 100
        )
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0.checked_add(o.0).expect("money overflow"))
    }
}
impl Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0.checked_sub(o.0).expect("money overflow"))
    }
}
impl AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        *self = *self + o;
    }
}
impl SubAssign for Fen {
    fn sub_assign(&mut self, o: Fen) {
        *self = *self - o;
    }
}
impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}
impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        iter.fold(Fen::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_yuan_strings() {
        assert_eq!(Fen::parse_yuan("12"), Ok(Fen(1200)));
        assert_eq!(Fen::parse_yuan("12.5"), Ok(Fen(1250)));
        assert_eq!(Fen::parse_yuan("1,234.05"), Ok(Fen(123405)));
        assert_eq!(Fen::parse_yuan("-0.01"), Ok(Fen(-1)));
        assert!(Fen::parse_yuan("1.234").is_err());
        assert!(Fen::parse_yuan("abc").is_err());
        assert!(Fen::parse_yuan(".5").is_err());
        assert!(Fen::parse_yuan("99999999999999999999").is_err());
    }

    #[test]
    fn separators_only_between_groups_of_three() {
        assert_eq!(Fen::parse_yuan("1,234,567"), Ok(Fen(123_456_700)));
        assert_eq!(Fen::parse_yuan("12，345.6"), Ok(Fen(1_234_560)));
        assert_eq!(Fen::parse_yuan("-1,000"), Ok(Fen(-100_000)));
        for bad in [
            "1,0,0",
            "1,00",
            ",100",
            "1000,000",
            "1,000,00",
            "1,,000",
            "1,000.00,0",
        ] {
            assert!(Fen::parse_yuan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typed_amounts_are_bounded() {
        assert_eq!(Fen::parse_typed_yuan("100,000,000"), Ok(Fen::MAX_TYPED));
        assert_eq!(
            Fen::parse_typed_yuan("92233720368547758"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Fen::parse_typed_yuan("-100000000.01"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Fen::checked_sum([Fen(i64::MAX), Fen(1)]), None);
        assert_eq!(Fen::checked_sum([Fen(2), Fen(3)]), Some(Fen(5)));
    }

    #[test]
    fn displays_with_separators() {
        assert_eq!(Fen(123_456_789).to_string(), "1,234,567.89");
        assert_eq!(Fen(-5).to_string(), "-0.05");
        assert_eq!(Fen(100).to_string(), "1.00");
    }

    #[test]
    fn ratio_rounds_half_away_from_zero() {
        assert_eq!(Fen(15).mul_ratio(1, 10), Fen(2));
        assert_eq!(Fen(-15).mul_ratio(1, 10), Fen(-2));
        assert_eq!(Fen::from_yuan(300).mul_ratio(110, 100), Fen::from_yuan(330));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(v in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(Fen::parse_yuan(&Fen(v).to_string()), Ok(Fen(v)));
        }
    }
}
