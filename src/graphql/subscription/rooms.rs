//! `roomEvents`: a presence snapshot, then the room's messages, joins, leaves and typing.

use async_graphql::{Context, ID, Subscription};
use futures_util::{StreamExt as _, stream, stream::BoxStream};
use uuid::Uuid;

use crate::{
    db,
    error::AppError,
    graphql::{
        context,
        live::{self, EventFilter, LiveItem, LiveSource, Pick},
        types::room_events::{MemberJoined, MemberLeft, MessagePosted, PresenceSnapshot, RoomEvent, TypingChanged},
    },
    realtime::{
        broker::{Event, Topic},
        presence::RoomMembership,
    },
};

/// Room subscriptions.
#[derive(Default)]
pub struct RoomsSubscription;

#[Subscription]
impl RoomsSubscription {
    /// Events of one room: first a PresenceSnapshot, then messages, joins, leaves and typing.
    async fn room_events(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
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
        db::chat::find_room(&state.db, room_id).await.map_err(AppError::from)?.ok_or_else(db::chat::room_not_found)?;
        let me = db::users::find_by_ids(&state.db, &[viewer.user_id])
            .await
            .map_err(AppError::from)?
            .pop()
            .ok_or_else(|| AppError::Unauthenticated("This account no longer exists.".into()))?;

        // Listen first, then join and take the snapshot: an event published in between is
        // delivered after the snapshot instead of being lost.
        let listener = state.broker.subscribe(Topic::Room(room_id));
        let membership = state.room_presence.join(room_id, me);
        let snapshot =
            RoomEvent::PresenceSnapshot(PresenceSnapshot { users: state.room_presence.online_users(room_id) });
        let filter = Member { me: viewer.user_id, _membership: membership };
        live::hand_over(ctx, LiveSource { listener, filter: Box::new(filter) })?;
        Ok(stream::once(std::future::ready(snapshot)).boxed())
    }
}

/// One subscriber of a room: gets every event but their own joins, leaves and typing.
struct Member {
    me: Uuid,
    /// Lives as long as the subscription: dropping it (complete, close, revocation, idle
    /// expiry) is what makes the user leave.
    _membership: RoomMembership,
}

impl EventFilter for Member {
    fn pick(&mut self, event: &Event) -> Pick {
        let about_me = match event {
            Event::MemberJoined { user, .. } | Event::MemberLeft { user, .. } | Event::TypingChanged { user, .. } => {
                user.id == self.me
            }
            _ => false,
        };
        if about_me { Pick::Skip } else { Pick::Shared(room_event) }
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
