//! One way to declare a closed vocabulary: an enum whose variants each carry a stable code (what
//! is stored in the database, sent in forms and URLs) and a Chinese label (what people read).

/// Declares an enum with, per variant, its stable code string and its Chinese label, and
/// generates:
///
/// - `ALL`: every variant, in declaration order;
/// - `code(self) -> &'static str`: the stable code;
/// - `label_zh(self) -> &'static str`: the Chinese label;
/// - `from_code(&str) -> Option<Self>`: the inverse of `code`.
///
/// Attributes (doc comments, derives, serde options) on the enum and on its variants are kept.
/// The enum must derive `Clone` and `Copy`. A code given twice is a compile error (an
/// unreachable pattern in `from_code`, denied by clippy's `-D warnings`), and the tests of each
/// enum check it again.
///
/// ```
/// domain::coded_enum! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Colour {
///         /// The colour of the sky.
///         Blue => ("blue", "蓝色"),
///         Red => ("red", "红色"),
///     }
/// }
/// assert_eq!(Colour::ALL, [Colour::Blue, Colour::Red]);
/// assert_eq!(Colour::Red.code(), "red");
/// assert_eq!(Colour::Red.label_zh(), "红色");
/// assert_eq!(Colour::from_code("blue"), Some(Colour::Blue));
/// assert_eq!(Colour::from_code("green"), None);
/// ```
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident => ($code:literal, $label:literal)
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($code),+].len()] = [$($name::$variant),+];

            /// The stable code: what is stored and sent, never shown.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The Chinese label shown to people.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// The variant with this code, if any.
            pub fn from_code(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::coded_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Sample {
            /// A documented variant.
            First => ("first", "第一"),
            Second => ("second.two", "第二"),
        }
    }

    #[test]
    fn generates_all_code_label_and_from_code() {
        assert_eq!(Sample::ALL, [Sample::First, Sample::Second]);
        assert_eq!(Sample::Second.code(), "second.two");
        assert_eq!(Sample::First.label_zh(), "第一");
        for s in Sample::ALL {
            assert_eq!(Sample::from_code(s.code()), Some(s));
        }
        assert_eq!(Sample::from_code("third"), None);
        assert_eq!(Sample::from_code(""), None);
    }
}
