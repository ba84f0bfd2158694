//! Free text a person types (a donor's name, a reason, a memo, a search): one line, bounded
//! length, nothing a reader cannot see.
//!
//! Why refuse rather than strip: control characters (NUL breaks PostgreSQL text), bidirectional
//! overrides (U+202E turns "张三" into a different-looking string on the public notice) and
//! zero-width characters (two "identical" donor names that differ) all change what the text
//! means to a reader without showing it. Typed input that carries them is an error the person
//! can correct; silently dropping them would store something other than what was typed.

use std::fmt;

/// Why a piece of typed text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("不能为空")]
    Empty,
    #[error("过长（最多{max}个字）")]
    TooLong { max: usize },
    #[error("含有不可见或控制字符，请重新输入")]
    Hidden,
}

/// Characters that change how text reads without showing themselves: controls (C0, C1, DEL),
/// Unicode format characters used for bidirectional overrides and isolates, zero-width spaces
/// and joiners, the byte-order mark, soft hyphen and interlinear annotation marks.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}')
}

/// One line of typed text, trimmed, 1..=`max` characters, with no hidden characters.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Line(String);

impl Line {
    /// Parses a required line of at most `max` characters (counted as characters, not bytes).
    pub fn parse(input: &str, max: usize) -> Result<Line, TextError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(TextError::Empty);
        }
        check(s, max)?;
        Ok(Line(s.to_string()))
    }

    /// Like [`Line::parse`], but empty input is `None`.
    pub fn parse_optional(input: &str, max: usize) -> Result<Option<Line>, TextError> {
        if input.trim().is_empty() {
            Ok(None)
        } else {
            Line::parse(input, max).map(Some)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Refuses text longer than `max` characters or holding hidden characters; stops counting at
/// `max + 1` so a megabyte of input costs no more than the bound.
pub fn check(s: &str, max: usize) -> Result<(), TextError> {
    let mut n = 0;
    for c in s.chars() {
        n += 1;
        if n > max {
            return Err(TextError::TooLong { max });
        }
        if is_hidden(c) {
            return Err(TextError::Hidden);
        }
    }
    Ok(())
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_chinese_and_minority_names_pass() {
        assert_eq!(
            Line::parse("  张记农资店 ", 50).unwrap().as_str(),
            "张记农资店"
        );
        assert!(Line::parse("阿依古丽·买买提", 50).is_ok());
    }

    #[test]
    fn hidden_characters_are_refused() {
        for bad in [
            "王\0丽",
            "王\u{202E}丽",
            "王\u{200B}丽",
            "\u{FEFF}王丽",
            "王\u{2066}丽",
            "a\nb",
        ] {
            assert_eq!(Line::parse(bad, 50), Err(TextError::Hidden), "{bad:?}");
        }
    }

    #[test]
    fn length_is_counted_in_characters_and_bounded() {
        assert!(Line::parse(&"张".repeat(50), 50).is_ok());
        assert_eq!(
            Line::parse(&"张".repeat(51), 50),
            Err(TextError::TooLong { max: 50 })
        );
        assert_eq!(Line::parse("   ", 50), Err(TextError::Empty));
        assert_eq!(Line::parse_optional(" ", 50), Ok(None));
    }
}
