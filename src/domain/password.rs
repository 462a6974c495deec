//! New passwords, by the rule of NIST SP 800-63B (§3.1.1.2) and OWASP ASVS 5.0 (V6.2):
//! 8 to 128 characters (Unicode code points) of any kind, no composition rules, refused only
//! when the password is a commonly used one or is built from the account's own names or the
//! service's name. Strength estimates that go further (zxcvbn's score, for one) refuse
//! random 8-character passwords that no attacker's list holds, which is what password
//! managers make, so none is applied.
//!
//! The common passwords are the 10,000 most frequent of the Xato corpus of 10 million
//! leaked passwords, as ranked in zxcvbn's frequency list (MIT licence), lower-cased, one a
//! line in `common_passwords.txt`; comparison ignores case.

use std::{collections::HashSet, sync::LazyLock};

use super::ValidationError;

/// Fewest characters a password has.
pub const MIN_CHARACTERS: usize = 8;
/// Most characters a password has: enough for any passphrase, and a bound on hashing input.
pub const MAX_CHARACTERS: usize = 128;
/// The service's name, which a password may not be built from.
const SERVICE_NAME: &str = "townsquare";

/// The common passwords, read once from the list built into the binary.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().collect());

/// The account's own words, which a password may not be built from.
#[derive(Debug, Clone, Copy)]
pub struct AccountWords<'a> {
    /// The account's email address.
    pub email: &'a str,
    /// The account's username.
    pub username: &'a str,
    /// The name the account shows to others.
    pub display_name: &'a str,
}

/// A new password that follows the rule above. Never trimmed: spaces count.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks a password being set for the account that `words` describe.
    pub fn parse_new(raw: &str, words: &AccountWords<'_>) -> Result<Self, ValidationError> {
        let length = raw.chars().count();
        if !(MIN_CHARACTERS..=MAX_CHARACTERS).contains(&length) {
            return Err(ValidationError(format!(
                "A password has {MIN_CHARACTERS} to {MAX_CHARACTERS} characters; this one has {length}."
            )));
        }
        let lowered = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(lowered.as_str()) {
            return Err(ValidationError(
                "This password is one of the 10,000 most common passwords, the first ones attackers try. \
                 Choose another: a few unrelated words, or what a password manager makes."
                    .into(),
            ));
        }
        let local_part = words.email.split('@').next().unwrap_or_default();
        let own_words = [
            (words.email, "your email address"),
            (local_part, "your email address"),
            (words.username, "your username"),
            (words.display_name, "your display name"),
            (SERVICE_NAME, "the service's name"),
        ];
        for (word, what) in own_words {
            if built_from(&lowered, &word.to_lowercase()) {
                return Err(ValidationError(format!(
                    "This password is built from {what}, which others know or can guess. \
                     Without it, at least {MIN_CHARACTERS} characters must remain."
                )));
            }
        }
        Ok(Password(raw.to_string()))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether `password` (lower-cased) is built from `word`: it contains the word, and what is
/// left without it would be too short to be a password of its own. So `annsmith1` is built
/// from `annsmith`, while a long passphrase that happens to contain a short name is not.
fn built_from(password: &str, word: &str) -> bool {
    // Names of one or two characters are inside too many passwords to mean anything.
    if word.chars().count() < 3 || !password.contains(word) {
        return false;
    }
    password.replace(word, "").chars().count() < MIN_CHARACTERS
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt as _;

    const ANN: AccountWords<'static> =
        AccountWords { email: "ann.smith@example.com", username: "annsmith", display_name: "Ann Smith" };

    fn refusal(raw: &str) -> String {
        Password::parse_new(raw, &ANN).expect_err(raw).0
    }

    #[test]
    fn the_length_is_counted_in_code_points() {
        assert!(refusal("short").contains("8 to 128 characters; this one has 5"));
        assert!(Password::parse_new(&"ä".repeat(8), &ANN).is_ok(), "8 two-byte characters are 8 characters");
        assert!(Password::parse_new(&"🙂".repeat(128), &ANN).is_ok());
        assert!(refusal(&"🙂".repeat(129)).contains("this one has 129"));
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for raw in ["password", "PassWord", "12345678", "qwertyuiop", "baseball", "iloveyou"] {
            assert!(refusal(raw).contains("most common passwords"), "{raw}");
        }
        let long_common = COMMON_PASSWORDS.iter().filter(|common| common.chars().count() >= MIN_CHARACTERS).count();
        assert!(long_common > 3_000, "the list holds {long_common} passwords of 8 characters or more");
    }

    #[test]
    fn passwords_built_from_the_accounts_own_names_are_refused_and_say_which() {
        let cases = [
            ("annsmith1", "your username"),
            ("AnnSmith2024", "your username"),
            ("ann.smith@example.com", "your email address"),
            ("ann.smith!!", "your email address"),
            ("ann smith 99", "your display name"),
            ("townsquare1!", "the service's name"),
        ];
        for (raw, what) in cases {
            let message = refusal(raw);
            assert!(message.contains(what), "{raw}: {message}");
        }
        assert!(Password::parse_new("annsmith plus eight more", &ANN).is_ok(), "the rest stands on its own");
    }

    #[test]
    fn ten_thousand_random_8_character_passwords_are_all_accepted() {
        // What a password manager makes: letters, digits and symbols, no pattern.
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        let mut rng = rand::rng();
        for _ in 0..10_000 {
            let raw: String = (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
            if let Err(error) = Password::parse_new(&raw, &ANN) {
                panic!("{raw:?} was refused: {}", error.0);
            }
        }
    }
}
