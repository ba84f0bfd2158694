//! The 18-digit resident identity number (公民身份号码, GB 11643-1999).
//!
//! Members are identified by this number, so it is validated once here: the check digit
//! (ISO 7064 MOD 11-2), a real birth date, and the sex digit. Birth date and sex are derived from
//! it rather than stored separately, so they can never disagree with the number.

use chrono::NaiveDate;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// GB/T 2261.1 code: 1 male, 2 female.
    pub fn code(self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("身份证号应为18位（现为{0}位）")]
    Length(usize),
    #[error("身份证号前17位只能是数字，第18位为数字或X")]
    Characters,
    #[error("身份证号中的出生日期无效")]
    BirthDate,
    #[error("身份证号校验位错误（应为{expected}）")]
    Checksum { expected: char },
}

/// A validated resident ID number. The inner string is always 18 ASCII characters, the last
/// possibly an upper-case `X`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentIdNumber(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits. Panics only if given non-digits, which callers
/// rule out first.
pub fn check_digit(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

impl ResidentIdNumber {
    pub fn parse(input: &str) -> Result<Self, IdNumberError> {
        let s: String = input.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(IdNumberError::Length(n));
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdNumberError::Characters);
        }
        birth_date_of(b).ok_or(IdNumberError::BirthDate)?;
        let expected = check_digit(&b[..17]);
        if b[17] as char != expected {
            return Err(IdNumberError::Checksum { expected });
        }
        Ok(Self(s))
    }

    /// Builds a valid number from its parts; used by generators of synthetic people.
    /// `area` is the 6-digit division code, `seq` the 3-digit sequence (odd for men).
    pub fn from_parts(area: &str, birth: NaiveDate, seq: u16) -> Result<Self, IdNumberError> {
        let first17 = format!("{area:0>6}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
        if first17.len() != 17 {
            return Err(IdNumberError::Length(first17.len() + 1));
        }
        let c = check_digit(first17.as_bytes());
        Self::parse(&format!("{first17}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(self.0.as_bytes()).expect("validated at parse")
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The 6-digit area code of registration at birth (not necessarily where the person lives).
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }

    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> u32 {
        on.years_since(self.birth_date()).unwrap_or(0)
    }

    /// Masked for lists: the first 4 and last 4 characters stay, e.g. `3203**********1234`.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }
}

fn birth_date_of(b: &[u8]) -> Option<NaiveDate> {
    let s = std::str::from_utf8(&b[6..14]).ok()?;
    let d = NaiveDate::parse_from_str(s, "%Y%m%d").ok()?;
    let min = NaiveDate::from_ymd_opt(1890, 1, 1)?;
    (d >= min).then_some(d)
}

impl fmt::Display for ResidentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ResidentIdNumber {
    /// Debug output is masked so that an ID number never lands in a log by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentIdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The GB 11643-1999 standard's own worked example.
    const STANDARD_EXAMPLE: &str = "11010519491231002X";

    #[test]
    fn standard_example_is_valid_and_female() {
        let id = ResidentIdNumber::parse(STANDARD_EXAMPLE).unwrap();
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.masked(), "1101**********002X");
    }

    #[test]
    fn lower_case_x_and_spaces_are_accepted() {
        let id = ResidentIdNumber::parse(" 11010519491231002x ").unwrap();
        assert_eq!(id.as_str(), STANDARD_EXAMPLE);
    }

    #[test]
    fn wrong_check_digit_names_the_right_one() {
        assert_eq!(
            ResidentIdNumber::parse("110105194912310021"),
            Err(IdNumberError::Checksum { expected: 'X' })
        );
    }

    #[test]
    fn impossible_birth_dates_are_refused() {
        // 1949-02-30 does not exist; the check digit is recomputed so only the date is wrong.
        let first17 = b"11010519490230002";
        let c = check_digit(first17);
        let s = format!("{}{c}", std::str::from_utf8(first17).unwrap());
        assert_eq!(ResidentIdNumber::parse(&s), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn length_and_characters_are_checked() {
        assert_eq!(
            ResidentIdNumber::parse("1234"),
            Err(IdNumberError::Length(4))
        );
        assert_eq!(
            ResidentIdNumber::parse("11010519491231X02X"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            ResidentIdNumber::parse("一一010519491231002X"),
            Err(IdNumberError::Characters)
        );
    }

    #[test]
    fn age_is_counted_in_whole_years() {
        let id = ResidentIdNumber::parse(STANDARD_EXAMPLE).unwrap();
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()),
            76
        );
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            77
        );
    }

    #[test]
    fn debug_output_is_masked() {
        let id = ResidentIdNumber::parse(STANDARD_EXAMPLE).unwrap();
        assert!(!format!("{id:?}").contains("19491231"));
    }

    proptest! {
        #[test]
        fn from_parts_always_round_trips(days in 0i64..45_000, seq in 0u16..1000) {
            let birth = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
            let id = ResidentIdNumber::from_parts("320982", birth, seq).unwrap();
            prop_assert_eq!(id.birth_date(), birth);
            prop_assert_eq!(id.sex() == Sex::Male, seq % 2 == 1);
            prop_assert_eq!(ResidentIdNumber::parse(id.as_str()).unwrap(), id);
        }

        #[test]
        fn any_single_digit_change_is_detected(pos in 0usize..17, delta in 1u8..10) {
            let id = ResidentIdNumber::parse(STANDARD_EXAMPLE).unwrap();
            let mut b = id.as_str().as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let s = String::from_utf8(b).unwrap();
            prop_assert!(ResidentIdNumber::parse(&s).is_err());
        }

        #[test]
        fn parse_never_panics(s in ".{0,30}") {
            let _ = ResidentIdNumber::parse(&s);
        }
    }
}
