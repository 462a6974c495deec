//! `roomEvents`: a presence snapshot, then (when resuming `after` a message) the messages the
//! subscriber missed, then the room's messages, joins, leaves and typing live.
//!
//! Resuming leaves no gap and sends nothing twice, as `notifications` does: the stream listens
//! on the room *before* it reads the missed messages, so a message committed after the read
//! is heard live; one heard live that the read already held is skipped by id.

use async_graphql::{Context, ID, Subscription};
use futures_util::{StreamExt as _, stream, stream::BoxStream};
use uuid::Uuid;

use super::repeats::Repeats;
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
        db::chat::find_room(&state.db, room_id).await.map_err(AppError::from)?.ok_or_else(db::chat::room_not_found)?;
        let me = db::users::find_by_ids(&state.db, &[viewer.user_id])
            .await
            .map_err(AppError::from)?
            .pop()
            .ok_or_else(|| AppError::Unauthenticated("This account no longer exists.".into()))?;

        // Listen first, then join and take the snapshot: an event published in between is
        // delivered after the snapshot instead of being lost.
        let listener = state.broker.subscribe(Topic::Room(room_id));
        let missed = match after {
            Some(after) => messages_after(&state.db, room_id, after).await.map_err(AppError::from)?,
            None => Vec::new(),
        };
        let membership = state.room_presence.join(room_id, me);
        let snapshot =
            RoomEvent::PresenceSnapshot(PresenceSnapshot { users: state.room_presence.online_users(room_id) });
        let repeats = Repeats::new(missed.iter().map(|row| row.message.id).collect());
        let filter = Member { me: viewer.user_id, repeats, _membership: membership };
        live::hand_over(ctx, LiveSource { listener, filter: Box::new(filter) })?;
        let missed = missed
            .into_iter()
            .map(|row| RoomEvent::MessagePosted(MessagePosted(PostedMessage::of(&row.message, &row.author))));
        Ok(stream::once(std::future::ready(snapshot)).chain(stream::iter(missed)).boxed())
    }
}

/// Every message of `room_id` after `after`, oldest first, read in keyset pages so no single
/// statement grows with a long absence.
async fn messages_after(
    conn: &impl sea_orm::ConnectionTrait,
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

/// One subscriber of a room: gets every event but their own joins, leaves and typing, and
/// the messages its resume already sent.
struct Member {
    me: Uuid,
    /// The missed messages sent on resuming, not to be sent again when heard live.
    repeats: Repeats,
    /// Lives as long as the subscription: dropping it (complete, close, revocation, idle
    /// expiry) is what makes the user leave.
    _membership: RoomMembership,
}

impl EventFilter for Member {
    fn pick(&mut self, event: &Event) -> Pick {
        let skip = match event {
            Event::MemberJoined { user, .. } | Event::MemberLeft { user, .. } | Event::TypingChanged { user, .. } => {
                user.id == self.me
            }
            Event::MessagePosted(message) => self.repeats.was_sent(message.id),
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
        Event::Notification(_) | Event::PresenceChanged { .. } => return None,
    };
    Some(LiveItem::Room(event))
}
