//! Account fields: email, username, display name, password.

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
            return Err(ValidationError(format!("A username has 3 to 32 characters; \"{name}\" has {length}.")));
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

/// A new password: 8–128 characters and not easy to guess. Never trimmed: spaces count.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks a password being set. `context` holds the user's own words (email, username),
    /// which make a password easy to guess.
    pub fn parse_new(raw: &str, context: &[&str]) -> Result<Self, ValidationError> {
        let length = raw.chars().count();
        if !(8..=128).contains(&length) {
            return Err(ValidationError(format!("A password has 8 to 128 characters; this one has {length}.")));
        }
        // zxcvbn scores 0–4 against common passwords, words, names and patterns; below 3 is
        // within reach of an online or a cheap offline attack.
        let estimate = zxcvbn::zxcvbn(raw, context);
        if (estimate.score() as u8) < 3 {
            let hint = estimate
                .feedback()
                .and_then(|feedback| feedback.warning().map(|warning| warning.to_string()))
                .filter(|warning| !warning.is_empty())
                .unwrap_or_else(|| "It is too easy to guess.".into());
            return Err(ValidationError(format!(
                "This password is too common or easy to guess: {hint} Add more words or characters."
            )));
        }
        Ok(Password(raw.to_string()))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
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

    #[test]
    fn weak_or_badly_sized_passwords_are_refused() {
        for (raw, reason) in [
            ("short", "under 8 characters"),
            ("password", "the most common password"),
            ("password123", "common with digits"),
            ("qwertyuiop", "a keyboard row"),
            ("annsmith1", "the user's own name"),
        ] {
            let error = Password::parse_new(raw, &["annsmith", "ann@example.com"]).expect_err(reason);
            assert!(!error.0.is_empty(), "{reason}");
        }
        assert!(Password::parse_new(&"x".repeat(129), &[]).is_err(), "over 128 characters");
        assert!(Password::parse_new("correct horse battery staple", &[]).is_ok());
    }
}
