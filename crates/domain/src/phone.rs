//! Mainland mobile numbers. Residents are reached by SMS, so only 11-digit mobile numbers
//! starting with 1[3-9] are accepted.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("手机号应为11位数字，以13–19开头")]
    Invalid,
}

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let s: String = input
            .trim()
            .trim_start_matches("+86")
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        let b = s.as_bytes();
        if b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
        {
            Ok(Phone(s))
        } else {
            Err(PhoneError::Invalid)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `138****5678`
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mobiles_and_masks_them() {
        let p = Phone::parse("+86 138-1234-5678").unwrap();
        assert_eq!(p.as_str(), "13812345678");
        assert_eq!(p.masked(), "138****5678");
    }

    #[test]
    fn refuses_landlines_and_garbage() {
        for bad in [
            "",
            "0515-8888888",
            "12812345678",
            "1381234567",
            "1381234567a",
            "138123456789",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError::Invalid), "{bad}");
        }
    }
}
