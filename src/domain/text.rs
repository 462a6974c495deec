//! Bodies of posts, comments and messages: trimmed, then 1 to N characters, with no NUL.

use super::ValidationError;

/// Trims `raw` and checks it has 1 to `max` characters and no NUL.
fn bounded(raw: &str, what: &str, max: usize) -> Result<String, ValidationError> {
    let text = raw.trim();
    let length = text.chars().count();
    if length == 0 {
        return Err(ValidationError(format!("{what} cannot be empty.")));
    }
    if length > max {
        return Err(ValidationError(format!("{what} has at most {max} characters; this one has {length}.")));
    }
    // PostgreSQL's text cannot hold U+0000 (the insert would fail as an internal error),
    // and no one types it. Other control characters (tabs, line breaks) are text.
    if text.contains('\0') {
        return Err(ValidationError(format!("{what} cannot contain the NUL character (U+0000).")));
    }
    Ok(text.to_string())
}

macro_rules! body_type {
    ($name:ident, $what:literal, $max:literal) => {
        #[doc = concat!("The text of ", $what, ": 1 to ", stringify!($max), " characters after trimming.")]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The longest allowed text, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Trims `raw` and checks its length.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                bounded(raw, concat!("The text of ", $what), $max).map($name)
            }

            /// The trimmed text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

body_type!(PostBody, "a post", 5000);
body_type!(CommentBody, "a comment", 2000);
body_type!(MessageBody, "a message", 4000);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_trimmed_and_bounded() {
        assert_eq!(PostBody::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(PostBody::parse("   ").is_err(), "blank after trimming");
        assert!(PostBody::parse(&"x".repeat(5000)).is_ok(), "exactly the limit");
        assert!(PostBody::parse(&"x".repeat(5001)).is_err(), "one past the limit");
        assert!(CommentBody::parse(&"x".repeat(2001)).is_err(), "comments stop at 2,000");
        assert!(MessageBody::parse(&"é".repeat(4000)).is_ok(), "characters, not bytes");
        assert!(PostBody::parse("a\0b").is_err(), "PostgreSQL cannot store NUL");
        assert!(CommentBody::parse("line\n\tnext").is_ok(), "line breaks and tabs are text");
    }
}
