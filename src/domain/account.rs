//! Account fields: email, username, display name (passwords are in `password.rs`).

use super::ValidationError;

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases `raw` and checks its shape (`local@domain.tld`, at most 254
    /// characters). Deliverability is proven by the verification code, not by a regex.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let invalid = || ValidationError(format!("\"{}\" is not an email address like name@example.com.", raw.trim()));
        if email.is_empty() {
            return Err(ValidationError("Enter an email address.".into()));
        }
        if email.chars().count() > 254 {
            return Err(ValidationError("An email address has at most 254 characters.".into()));
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: 3–32 characters of `a-z`, `0-9` and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Checks `raw` (trimmed; upper case is refused rather than silently changed, so the
    /// name shown is the name typed).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let length = name.chars().count();
        if !(3..=32).contains(&length) {
            // The name is quoted back only while short: a long one would make the message as long.
            let this_one = if length <= 64 { format!("\"{name}\"") } else { "this one".to_string() };
            return Err(ValidationError(format!("A username has 3 to 32 characters; {this_one} has {length}.")));
        }
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(ValidationError(
                "A username may use only lower-case letters a-z, digits 0-9 and underscores.".into(),
            ));
        }
        Ok(Username(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown to others: 1–64 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims `raw` and checks its length; `None` or blank falls back to `username`.
    pub fn parse(raw: Option<&str>, username: &Username) -> Result<Self, ValidationError> {
        let name = raw.map(str::trim).filter(|name| !name.is_empty()).unwrap_or(username.as_str());
        if name.chars().count() > 64 {
            return Err(ValidationError("A display name has at most 64 characters.".into()));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError("A display name cannot contain control characters.".into()));
        }
        Ok(DisplayName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for (raw, reason) in [
            ("", "empty"),
            ("ann", "no @"),
            ("ann@", "no domain"),
            ("@example.com", "no local part"),
            ("ann@example", "no dot in the domain"),
            ("a nn@example.com", "a space inside"),
            ("ann@@example.com", "two @"),
        ] {
            assert!(Email::parse(raw).is_err(), "{reason}");
        }
    }

    #[test]
    fn usernames_follow_the_contract() {
        assert!(Username::parse("ann_99").is_ok());
        for (raw, reason) in [
            ("an", "too short"),
            (&"a".repeat(33) as &str, "too long"),
            ("Ann", "upper case"),
            ("ann-b", "a dash"),
            ("ann b", "a space"),
            ("änn", "not ASCII"),
        ] {
            assert!(Username::parse(raw).is_err(), "{reason}");
        }
    }
}
