//! Bank card numbers and masking.
//!
//! A card number is parsed once, where it enters the system (a form, an import), into a
//! [`BankCardNumber`]; everything after that can rely on it being 16–19 digits with a valid
//! check digit. Mistyped numbers are the most common reason a 代发 line bounces, and a bounce
//! costs a family a month's wait, so the check happens while the person is still at the desk.

use std::fmt;

/// A UnionPay debit card number: 16 to 19 digits whose last digit is the Luhn check digit.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankCardNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("银行卡号不能为空")]
    Empty,
    #[error("银行卡号只能包含数字（可用空格或短横线分隔），不能含“{0}”")]
    InvalidCharacter(char),
    #[error("银行卡号应为16至19位数字，现为{0}位")]
    Length(usize),
    #[error("银行卡号校验位不正确，请核对")]
    CheckDigit,
}

impl BankCardNumber {
    pub const MIN_DIGITS: usize = 16;
    pub const MAX_DIGITS: usize = 19;

    /// Accepts the digits as people write them: "6222 0212 3456 7890", "6222-0212-…"; spaces
    /// (including the full-width one IMEs produce) and hyphens are dropped.
    pub fn parse(input: &str) -> Result<BankCardNumber, CardError> {
        let mut digits = String::with_capacity(Self::MAX_DIGITS);
        for ch in input.trim().chars() {
            match ch {
                '0'..='9' => digits.push(ch),
                ' ' | '\u{3000}' | '-' => {}
                other => return Err(CardError::InvalidCharacter(other)),
            }
        }
        if digits.is_empty() {
            return Err(CardError::Empty);
        }
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len()) {
            return Err(CardError::Length(digits.len()));
        }
        if !luhn_valid(&digits) {
            return Err(CardError::CheckDigit);
        }
        Ok(BankCardNumber(digits))
    }

    /// The digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits: what a result file, a text message or a person on the phone
    /// can use to tell two cards apart without exposing the number.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// "6222 **** **** 1234": first four and last four digits, the middle as groups of
    /// "****" (one per started group of four hidden digits). For pages and notices.
    pub fn masked(&self) -> String {
        let hidden = self.0.len() - 8;
        let mut out = String::with_capacity(self.0.len() + 8);
        out.push_str(&self.0[..4]);
        for _ in 0..hidden.div_ceil(4) {
            out.push_str(" ****");
        }
        out.push(' ');
        out.push_str(self.last4());
        out
    }
}

/// Debug never shows the whole number: cards end up in logs through `{:?}`.
impl fmt::Debug for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankCardNumber({})", self.masked())
    }
}

impl fmt::Display for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BankCardNumber {
    type Error = CardError;
    fn try_from(s: String) -> Result<Self, CardError> {
        BankCardNumber::parse(&s)
    }
}

impl From<BankCardNumber> for String {
    fn from(c: BankCardNumber) -> String {
        c.0
    }
}

/// `body` (all digits) followed by its Luhn check digit: a card number that passes
/// [`BankCardNumber::parse`]'s check (demo data, tests, benches).
pub fn with_check_digit(body: &str) -> String {
    let probe = format!("{body}0");
    let check = (10 - luhn_sum(&probe) % 10) % 10;
    format!("{body}{check}")
}

/// The Luhn (mod 10) check over an all-digit string, check digit last.
fn luhn_valid(digits: &str) -> bool {
    luhn_sum(digits).is_multiple_of(10)
}

/// The Luhn sum of an all-digit string whose last digit is the check digit.
fn luhn_sum(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum
}

/// A name for public notices (公示): first character, "*" for each middle character, last
/// character — "张三明" → "张*明", "欧阳娜娜" → "欧**娜"; two characters keep the first
/// ("张三" → "张*"), one stays as it is. Counted in characters, never bytes.
///
/// Why the village still sees first and last characters: the notice exists so neighbours can
/// object to a wrong payout, which they can only do if they recognise the person.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 | 1 => chars.iter().collect(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::with_capacity(n * 3);
            out.push(chars[0]);
            out.extend(std::iter::repeat_n('*', n - 2));
            out.push(chars[n - 1]);
            out
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_completed_body_parses() {
        for body in ["622848000000000001", "621462000123456", "6222020200112233"] {
            let n = with_check_digit(body);
            assert_eq!(n.len(), body.len() + 1);
            assert!(BankCardNumber::parse(&n).is_ok(), "{n}");
            let last = n.chars().last().unwrap().to_digit(10).unwrap();
            let wrong = format!("{body}{}", (last + 1) % 10);
            assert!(BankCardNumber::parse(&wrong).is_err(), "{wrong}");
        }
    }

    use super::*;

    /// The check digit that makes `body` Luhn-valid: lets tests build numbers of any length.
    pub(crate) fn with_check_digit(body: &str) -> String {
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|s| luhn_valid(s))
            .unwrap()
    }

    #[test]
    fn accepts_published_unionpay_test_numbers() {
        // UnionPay test numbers from payment processors' public test-card lists.
        for n in [
            "6200000000000005",
            "6205500000000000004",
            "6250941006528599",
        ] {
            let c = BankCardNumber::parse(n).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(c.as_str(), n);
        }
    }

    #[test]
    fn separators_are_dropped() {
        let c = BankCardNumber::parse(" 6200-0000 0000\u{3000}0005 ").unwrap();
        assert_eq!(c.as_str(), "6200000000000005");
        assert_eq!(c.last4(), "0005");
    }

    #[test]
    fn wrong_check_digit_length_and_characters_are_refused() {
        assert_eq!(
            BankCardNumber::parse("6200000000000006"),
            Err(CardError::CheckDigit)
        );
        assert_eq!(
            BankCardNumber::parse("620000000000005"),
            Err(CardError::Length(15))
        );
        assert_eq!(
            BankCardNumber::parse(&with_check_digit("6200000000000000000")),
            Err(CardError::Length(20))
        );
        assert_eq!(
            BankCardNumber::parse("6200O00000000005"),
            Err(CardError::InvalidCharacter('O'))
        );
        assert_eq!(BankCardNumber::parse("  "), Err(CardError::Empty));
        assert_eq!(
            CardError::CheckDigit.to_string(),
            "银行卡号校验位不正确，请核对"
        );
        assert!(CardError::Length(15)
            .to_string()
            .starts_with("银行卡号应为16至19位数字"));
    }

    #[test]
    fn every_swapped_or_changed_digit_is_caught() {
        // Luhn catches every single-digit error, which is the typo that matters most.
        let good = "6205500000000000004";
        for i in 0..good.len() {
            for d in b'0'..=b'9' {
                let mut b = good.as_bytes().to_vec();
                if b[i] == d {
                    continue;
                }
                b[i] = d;
                let s = String::from_utf8(b).unwrap();
                assert!(BankCardNumber::parse(&s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn masks_card_numbers() {
        let c = BankCardNumber::parse(&with_check_digit("622202123456123")).unwrap();
        assert_eq!(c.as_str().len(), 16);
        assert_eq!(c.masked(), format!("6222 **** **** {}", c.last4()));
        let c19 = BankCardNumber::parse("6205500000000000004").unwrap();
        assert_eq!(c19.masked(), "6205 **** **** **** 0004");
        assert!(!format!("{c19:?}").contains("6205500000000000004"));
    }

    #[test]
    fn masks_names_by_characters() {
        assert_eq!(mask_name("张三明"), "张*明");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("张"), "张");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("阿依古丽·买买提"), "阿******提");
    }
}
