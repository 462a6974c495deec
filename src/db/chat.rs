//! Chat storage: rooms, the messages sent to them, and each room's history, paged
//! backwards from the newest message on (created_at, id).
//!
//! Sending numbers the message in its room and stores it in one transaction (see
//! [`send_message`]), so every instance can tell from the numbers whether it missed one.
//! Reading the latest
//! messages of many rooms is one statement (a `ROW_NUMBER` per room), so a list of rooms
//! with their recent messages costs the same whatever its length.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, IntoActiveModel as _,
    QueryFilter, QueryOrder, QueryResult, Statement, TransactionTrait as _, Value,
};
use uuid::Uuid;

use super::{
    entities::{chat_message, chat_room},
    feed::FeedPosition,
    placeholders,
    users::{UserRecord, record_columns},
};
use crate::{
    domain::{MessageBody, RoomName},
    error::AppError,
};

/// A message with its author, as every message query returns it.
#[derive(Debug, Clone)]
pub struct MessageWithAuthor {
    /// The message row.
    pub message: chat_message::Model,
    /// Its author.
    pub author: UserRecord,
}

/// Why a message was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The room does not exist.
    #[error("the room does not exist")]
    RoomNotFound,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<SendError> for AppError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::RoomNotFound => room_not_found(),
            SendError::Db(error) => AppError::from(error),
        }
    }
}

/// The error for a room id that names no room.
pub fn room_not_found() -> AppError {
    AppError::NotFound("No room has this id. Check the room id, or pick one from `rooms`.".into())
}

/// Stores a new room named `name` and returns it. A name taken in any case fails on the
/// unique key (`AppError::from_db_unique` turns that into `BAD_USER_INPUT`).
pub async fn create_room(conn: &impl ConnectionTrait, name: &RoomName) -> Result<chat_room::Model, DbErr> {
    let model = chat_room::Model {
        id: Uuid::now_v7(),
        name: name.as_str().to_string(),
        name_key: name.key(),
        created_at: super::now(),
        last_seq: 0,
    };
    chat_room::Entity::insert(model.clone().into_active_model()).exec_without_returning(conn).await?;
    Ok(model)
}

/// Every room, in case-insensitive order of name.
pub async fn rooms(conn: &impl ConnectionTrait) -> Result<Vec<chat_room::Model>, DbErr> {
    chat_room::Entity::find().order_by_asc(chat_room::Column::NameKey).all(conn).await
}

/// The rooms with the given ids; missing ids are simply absent.
pub async fn rooms_by_ids(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<chat_room::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    chat_room::Entity::find().filter(chat_room::Column::Id.is_in(ids.iter().copied())).all(conn).await
}

/// The room with this id, if there is one.
pub async fn find_room(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<chat_room::Model>, DbErr> {
    chat_room::Entity::find_by_id(id).one(conn).await
}

/// Stores `body` as a message of `author_id` in `room_id` and returns it, numbered with the
/// room's next `seq`.
///
/// One transaction: the room's row is updated first, so its lock orders concurrent senders,
/// the numbers follow commit order, and a message numbered n is only visible once every
/// message before it is. Its time is read under that lock too, so history order (created_at,
/// id) agrees with `seq` on one clock. An unknown room updates no row.
pub async fn send_message(
    conn: &DatabaseConnection,
    room_id: Uuid,
    author_id: Uuid,
    body: &MessageBody,
) -> Result<chat_message::Model, SendError> {
    let transaction = conn.begin().await?;
    let backend = transaction.get_database_backend();
    let bumped = transaction
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE chat_room SET last_seq = last_seq + 1 WHERE id = {} RETURNING last_seq",
                placeholders(backend, 1, 1)
            ),
            [room_id.into()],
        ))
        .await?;
    let Some(row) = bumped else { return Err(SendError::RoomNotFound) };
    let seq: i64 = row.try_get_by_index(0)?;
    let model = chat_message::Model {
        // UUIDv7 follows creation order, the tie-break between equal timestamps.
        id: Uuid::now_v7(),
        room_id,
        author_id,
        body: body.as_str().to_string(),
        created_at: super::now(),
        seq,
    };
    chat_message::Entity::insert(model.clone().into_active_model()).exec_without_returning(&transaction).await?;
    transaction.commit().await?;
    Ok(model)
}

const MESSAGE_COLUMNS: &str = "m.id AS m_id, m.room_id AS m_room_id, m.author_id AS m_author_id, \
    m.body AS m_body, m.created_at AS m_created_at, m.seq AS m_seq";

fn message_with_author(row: &QueryResult) -> Result<MessageWithAuthor, DbErr> {
    Ok(MessageWithAuthor {
        message: chat_message::Model::from_query_result(row, "m_")?,
        author: UserRecord::from_query_result(row, "u_")?,
    })
}

/// Which way to read a room's history from a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Strictly older messages, newest first: a page of history before a cursor.
    Older,
    /// Strictly newer messages, oldest first: what a subscriber resuming after a cursor missed.
    Newer,
}

/// Up to `limit` messages of `room_id` on the `direction` side of `from`, nearest first.
///
/// Keyset paging on (created_at, id), served by the (room_id, created_at, id) index: a cursor
/// stays valid however many messages arrive after it, and a page never shifts under a reader
/// the way an offset would.
pub async fn messages_from(
    conn: &impl ConnectionTrait,
    room_id: Uuid,
    from: FeedPosition,
    direction: Direction,
    limit: u64,
) -> Result<Vec<MessageWithAuthor>, DbErr> {
    let backend = conn.get_database_backend();
    let p = placeholders(backend, 1, 5);
    let p: Vec<&str> = p.split(", ").collect();
    let (beyond, order) = match direction {
        Direction::Older => ("<", "DESC"),
        Direction::Newer => (">", "ASC"),
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, {users} FROM chat_message m JOIN \"user\" u ON u.id = m.author_id \
         WHERE m.room_id = {} AND (m.created_at {beyond} {} OR (m.created_at = {} AND m.id {beyond} {})) \
         ORDER BY m.created_at {order}, m.id {order} LIMIT {}",
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        users = record_columns("u", "u_"),
    );
    let values: Vec<Value> =
        vec![room_id.into(), from.created_at.into(), from.created_at.into(), from.id.into(), (limit as i64).into()];
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(message_with_author).collect()
}

/// Up to `limit` messages of `room_id` numbered after `after_seq`, oldest first: what a
/// subscriber that saw a jump in the numbers, or a client resuming, missed.
pub async fn messages_after_seq(
    conn: &impl ConnectionTrait,
    room_id: Uuid,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<MessageWithAuthor>, DbErr> {
    let backend = conn.get_database_backend();
    let p = placeholders(backend, 1, 3);
    let p: Vec<&str> = p.split(", ").collect();
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, {users} FROM chat_message m JOIN \"user\" u ON u.id = m.author_id \
         WHERE m.room_id = {} AND m.seq > {} ORDER BY m.seq ASC LIMIT {}",
        p[0],
        p[1],
        p[2],
        users = record_columns("u", "u_"),
    );
    let values: Vec<Value> = vec![room_id.into(), after_seq.into(), (limit as i64).into()];
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(message_with_author).collect()
}

/// The `seq` of message `message_id` in `room_id`, if it is there.
pub async fn seq_of(conn: &impl ConnectionTrait, room_id: Uuid, message_id: Uuid) -> Result<Option<i64>, DbErr> {
    Ok(chat_message::Entity::find_by_id(message_id)
        .filter(chat_message::Column::RoomId.eq(room_id))
        .one(conn)
        .await?
        .map(|message| message.seq))
}

/// The `seq` of the newest message of `room_id` (0 before the first), `None` for no room.
pub async fn last_seq(conn: &impl ConnectionTrait, room_id: Uuid) -> Result<Option<i64>, DbErr> {
    Ok(find_room(conn, room_id).await?.map(|room| room.last_seq))
}

/// The `per_room` newest messages of each room, newest first, with their authors.
pub async fn latest_messages(
    conn: &impl ConnectionTrait,
    room_ids: &[Uuid],
    per_room: u64,
) -> Result<HashMap<Uuid, Vec<MessageWithAuthor>>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = conn.get_database_backend();
    // ROW_NUMBER per room keeps the batch to one statement while returning only `per_room`
    // rows of each room, however long its history.
    let sql = format!(
        "SELECT ranked.id AS m_id, ranked.room_id AS m_room_id, ranked.author_id AS m_author_id, \
         ranked.body AS m_body, ranked.created_at AS m_created_at, ranked.seq AS m_seq, {users} FROM ( \
            SELECT m.id, m.room_id, m.author_id, m.body, m.created_at, m.seq, ROW_NUMBER() OVER ( \
                PARTITION BY m.room_id ORDER BY m.created_at DESC, m.id DESC) AS rn \
            FROM chat_message m WHERE m.room_id IN ({ids}) \
         ) ranked JOIN \"user\" u ON u.id = ranked.author_id \
         WHERE ranked.rn <= {limit} ORDER BY ranked.room_id, ranked.rn",
        users = record_columns("u", "u_"),
        ids = placeholders(backend, 1, room_ids.len()),
        limit = placeholders(backend, room_ids.len() + 1, 1),
    );
    let mut values: Vec<Value> = room_ids.iter().map(|id| (*id).into()).collect();
    values.push((per_room as i64).into());
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut grouped: HashMap<Uuid, Vec<MessageWithAuthor>> = HashMap::new();
    for row in rows {
        let message = message_with_author(&row)?;
        grouped.entry(message.message.room_id).or_default().push(message);
    }
    Ok(grouped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_trimmed_bounded_and_keyed_without_case() {
        let name = RoomName::parse("  Lobby ").expect("valid");
        assert_eq!(name.as_str(), "Lobby");
        assert_eq!(name.key(), RoomName::parse("LOBBY").expect("valid").key());
        assert!(RoomName::parse(" \t ").is_err(), "blank after trimming");
        assert!(RoomName::parse(&"é".repeat(64)).is_ok(), "characters, not bytes");
        assert!(RoomName::parse(&"x".repeat(65)).is_err(), "one past the limit");
    }
}
