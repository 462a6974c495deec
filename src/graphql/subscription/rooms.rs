//! `roomEvents`: a presence snapshot, then (when resuming `after` a message) the messages the
//! subscriber missed, then the room's messages, joins, leaves and typing live.
//!
//! Resuming leaves no gap and sends nothing twice, as `notifications` does: the stream listens
//! on the room *before* it reads the missed messages, so a message committed after the read
//! is heard live. Every message carries its number in the room (`seq`, gapless in commit
//! order), and each subscriber keeps the number it last sent: a message at or below it is a
//! repeat and is skipped; one past the next number means messages were missed (another
//! instance's event was lost or is late), and they are read from the database before it.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use async_graphql::{Context, ID, Subscription};
use futures_util::{FutureExt as _, StreamExt as _, stream, stream::BoxStream};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    db::{
        self,
        chat::{Direction, MessageWithAuthor},
        feed::FeedPosition,
    },
    error::AppError,
    graphql::{
        context,
        live::{self, EventFilter, LiveItem, LiveSource, Pick},
        types::{
            chat::MESSAGE_CURSOR,
            page::decode_cursor,
            room_events::{MemberJoined, MemberLeft, MessagePosted, PresenceSnapshot, RoomEvent, TypingChanged},
        },
    },
    realtime::{
        broker::{Event, PostedMessage, Topic},
        presence::RoomMembership,
    },
};

/// Missed messages read per statement when a subscriber resumes.
const MISSED_PAGE: u64 = 500;

/// Room subscriptions.
#[derive(Default)]
pub struct RoomsSubscription;

#[Subscription]
impl RoomsSubscription {
    /// Events of one room: first a PresenceSnapshot, then messages, joins, leaves and typing.
    /// With `after` (a message cursor), the room's messages after it come first, oldest first, then
    /// live ones, with no gap and no duplicate: a client resumes where its last socket stopped.
    async fn room_events(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<BoxStream<'static, RoomEvent>> {
        if let Some(rendered) = live::rendered(ctx, |item| match item {
            LiveItem::Room(event) => Some(event),
            _ => None,
        }) {
            return Ok(rendered?);
        }
        let viewer = *context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let room_id = Uuid::parse_str(&room_id).map_err(|_| db::chat::room_not_found())?;
        let after = after.as_deref().map(|cursor| decode_cursor(MESSAGE_CURSOR, cursor)).transpose()?;
        let me = db::users::find_by_ids(&state.db, &[viewer.user_id])
            .await
            .map_err(AppError::from)?
            .pop()
            .ok_or_else(|| AppError::Unauthenticated("This account no longer exists.".into()))?;

        // Listen first, then read the room and join: an event published in between is
        // delivered after the snapshot instead of being lost.
        let listener = state.broker.subscribe(Topic::Room(room_id));
        let room = db::chat::find_room(&state.db, room_id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(db::chat::room_not_found)?;
        let (missed, last_seq) = match after {
            Some(after) => messages_after(&state.db, room_id, after, room.last_seq).await.map_err(AppError::from)?,
            None => (Vec::new(), room.last_seq),
        };
        let membership = state.room_presence.join(room_id, me);
        let snapshot = RoomEvent::PresenceSnapshot(PresenceSnapshot {
            users: state.room_presence.online_users(&state.db, room_id).await.map_err(AppError::from)?,
        });
        let filter = Member {
            me: viewer.user_id,
            room_id,
            db: state.db.clone(),
            last_seq: Arc::new(AtomicI64::new(last_seq)),
            _membership: membership,
        };
        live::hand_over(ctx, LiveSource { listener, filter: Box::new(filter) })?;
        let missed = missed
            .into_iter()
            .map(|row| RoomEvent::MessagePosted(MessagePosted(PostedMessage::of(&row.message, &row.author))));
        Ok(stream::once(std::future::ready(snapshot)).chain(stream::iter(missed)).boxed())
    }
}

/// Every message of `room_id` after the one `after` points at, oldest first, with the number
/// of the last one sent (from which live messages continue). Read by number in pages, so no
/// single statement grows with a long absence; a cursor of a message not in this room is
/// read by its position in the history instead.
async fn messages_after(
    conn: &DatabaseConnection,
    room_id: Uuid,
    after: FeedPosition,
    room_last_seq: i64,
) -> Result<(Vec<MessageWithAuthor>, i64), sea_orm::DbErr> {
    let after_seq = db::chat::seq_of(conn, room_id, after.id).await?;
    let rows = match after_seq {
        Some(seq) => messages_after_seq(conn, room_id, seq).await?,
        None => messages_after_position(conn, room_id, after).await?,
    };
    let last_seq = rows.last().map(|row| row.message.seq).or(after_seq).unwrap_or(room_last_seq);
    Ok((rows, last_seq))
}

/// Every message of `room_id` numbered after `seq`, oldest first, in pages.
async fn messages_after_seq(
    conn: &DatabaseConnection,
    room_id: Uuid,
    mut seq: i64,
) -> Result<Vec<MessageWithAuthor>, sea_orm::DbErr> {
    let mut rows = Vec::new();
    loop {
        let page = db::chat::messages_after_seq(conn, room_id, seq, MISSED_PAGE).await?;
        let more = page.len() as u64 == MISSED_PAGE;
        if let Some(last) = page.last() {
            seq = last.message.seq;
        }
        rows.extend(page);
        if !more {
            return Ok(rows);
        }
    }
}

/// Every message of `room_id` after the history position `after`, oldest first, in pages.
async fn messages_after_position(
    conn: &DatabaseConnection,
    room_id: Uuid,
    mut after: FeedPosition,
) -> Result<Vec<MessageWithAuthor>, sea_orm::DbErr> {
    let mut rows = Vec::new();
    loop {
        let page = db::chat::messages_from(conn, room_id, after, Direction::Newer, MISSED_PAGE).await?;
        let more = page.len() as u64 == MISSED_PAGE;
        if let Some(last) = page.last() {
            after = FeedPosition { created_at: last.message.created_at, id: last.message.id };
        }
        rows.extend(page);
        if !more {
            return Ok(rows);
        }
    }
}

/// One subscriber of a room: gets every event but their own joins, leaves and typing, every
/// message once and in order.
struct Member {
    me: Uuid,
    room_id: Uuid,
    /// Where missed messages are read from.
    db: DatabaseConnection,
    /// The number of the last message sent to this subscriber (shared with a running fill).
    last_seq: Arc<AtomicI64>,
    /// Lives as long as the subscription: dropping it (complete, close, revocation, idle
    /// expiry) is what makes the user leave.
    _membership: RoomMembership,
}

impl Member {
    /// Reads every message after the last one sent, then `heard` (the live message that
    /// showed the gap) if the read did not already hold it.
    fn fill(&self, heard: Option<PostedMessage>) -> Pick {
        let (db, room_id, last_seq) = (self.db.clone(), self.room_id, self.last_seq.clone());
        Pick::Fill(
            async move {
                let from = last_seq.load(Ordering::Acquire);
                let mut messages: Vec<PostedMessage> = match messages_after_seq(&db, room_id, from).await {
                    Ok(rows) => rows.iter().map(|row| PostedMessage::of(&row.message, &row.author)).collect(),
                    Err(error) => {
                        // Sending what was heard keeps the stream going; the next jump or
                        // resync retries the read.
                        tracing::warn!(error = %error, %room_id, "could not read missed messages");
                        Vec::new()
                    }
                };
                if let Some(heard) = heard
                    && messages.last().is_none_or(|last| last.seq < heard.seq)
                {
                    messages.push(heard);
                }
                let filled = messages.iter().filter(|message| message.seq > from).count();
                if filled > 1 {
                    metrics::counter!("cluster_gap_messages_filled_total").increment(filled as u64 - 1);
                }
                if let Some(last) = messages.last() {
                    last_seq.fetch_max(last.seq, Ordering::AcqRel);
                }
                messages
                    .into_iter()
                    .filter(|message| message.seq > from)
                    .map(|message| LiveItem::Room(RoomEvent::MessagePosted(MessagePosted(message))))
                    .collect()
            }
            .boxed(),
        )
    }
}

impl EventFilter for Member {
    fn pick(&mut self, event: &Event) -> Pick {
        let skip = match event {
            Event::MemberJoined { user, .. } | Event::MemberLeft { user, .. } | Event::TypingChanged { user, .. } => {
                user.id == self.me
            }
            Event::MessagePosted(message) => {
                let last = self.last_seq.load(Ordering::Acquire);
                if message.seq > last + 1 {
                    return self.fill(Some(message.clone()));
                }
                if message.seq == last + 1 {
                    self.last_seq.store(message.seq, Ordering::Release);
                }
                message.seq <= last
            }
            Event::Resync => return self.fill(None),
            _ => false,
        };
        if skip { Pick::Skip } else { Pick::Shared(room_event) }
    }
}

/// The GraphQL event for a broker event of a room.
fn room_event(event: &Event) -> Option<LiveItem> {
    let event = match event {
        Event::MessagePosted(message) => RoomEvent::MessagePosted(MessagePosted(message.clone())),
        Event::MemberJoined { user, online_count } => {
            RoomEvent::MemberJoined(MemberJoined { user: user.clone(), online_count: *online_count })
        }
        Event::MemberLeft { user, online_count } => {
            RoomEvent::MemberLeft(MemberLeft { user: user.clone(), online_count: *online_count })
        }
        Event::TypingChanged { user, typing } => {
            RoomEvent::TypingChanged(TypingChanged { user: user.clone(), typing: *typing })
        }
        Event::Notification(_) | Event::PresenceChanged { .. } | Event::Resync => return None,
    };
    Some(LiveItem::Room(event))
}
