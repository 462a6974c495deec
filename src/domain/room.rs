//! Room names.

use super::ValidationError;

/// A room name: trimmed, then 1 to 64 characters; unique regardless of case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    /// The longest allowed name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Trims `raw` and checks its length.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 {
            return Err(ValidationError("A room name cannot be empty.".into()));
        }
        if length > Self::MAX_CHARS {
            return Err(ValidationError(format!(
                "A room name has at most {} characters; this one has {length}.",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError("A room name cannot contain control characters.".into()));
        }
        Ok(RoomName(name.to_string()))
    }

    /// The name as typed, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored uniqueness key: "Lobby" and "LOBBY" share one.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}
