//! Relay paging: `PageInfo`, opaque cursors, and the bounds on `first`/`last`.

use async_graphql::SimpleObject;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Datelike as _, TimeZone, Utc};
use uuid::Uuid;

use crate::{db::feed::FeedPosition, error::AppError};

/// Relay's page information.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    /// More items follow the last edge.
    pub has_next_page: bool,
    /// Items precede the first edge.
    pub has_previous_page: bool,
    /// Cursor of the first edge.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge.
    pub end_cursor: Option<String>,
}

/// The largest page any list argument accepts.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Checks a page size argument and returns it as a row count.
pub fn page_size(argument: &str, value: i32) -> Result<u64, AppError> {
    if !(0..=MAX_PAGE_SIZE).contains(&value) {
        return Err(AppError::bad_input(format!(
            "`{argument}` must be between 0 and {MAX_PAGE_SIZE}; it was {value}."
        )));
    }
    Ok(value as u64)
}

/// Cursors are base64url of `kind:micros:uuid`: opaque to clients, stable across inserts.
pub fn encode_cursor(kind: &str, position: FeedPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{}:{}", position.created_at.timestamp_micros(), position.id))
}

/// Reads back a cursor made by [`encode_cursor`] for the same `kind`.
pub fn decode_cursor(kind: &str, cursor: &str) -> Result<FeedPosition, AppError> {
    let invalid =
        || AppError::bad_input("The cursor is not valid. Use a cursor from a previous page of the same list.");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, ':');
    let (Some(found_kind), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if found_kind != kind {
        return Err(invalid());
    }
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    // A moment outside the years 1 to 9999 is no row's, and PostgreSQL cannot even compare
    // one far outside them: it would fail the query instead of refusing the cursor.
    let created_at = Utc
        .timestamp_micros(micros)
        .single()
        .filter(|created_at| (1..=9999).contains(&created_at.year()))
        .ok_or_else(invalid)?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(FeedPosition { created_at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let position =
            FeedPosition { created_at: Utc.timestamp_micros(1_763_890_500_123_456).unwrap(), id: Uuid::now_v7() };
        assert_eq!(decode_cursor("post", &encode_cursor("post", position)).unwrap(), position);
    }

    #[test]
    fn foreign_or_broken_cursors_are_refused() {
        let position = FeedPosition { created_at: Utc::now(), id: Uuid::now_v7() };
        let cases = [
            (encode_cursor("message", position), "a cursor of another list"),
            ("not base64!".to_string(), "not base64"),
            (URL_SAFE_NO_PAD.encode("post:abc:def"), "fields that do not parse"),
            (URL_SAFE_NO_PAD.encode("post"), "missing fields"),
            (URL_SAFE_NO_PAD.encode(format!("post:{}:{}", i64::MIN / 2, position.id)), "a moment no row has"),
        ];
        for (cursor, reason) in cases {
            assert!(decode_cursor("post", &cursor).is_err(), "{reason}");
        }
    }
}
