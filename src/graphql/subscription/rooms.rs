//! `roomEvents`: a presence snapshot, then the room's messages, joins, leaves and typing.

use std::sync::Arc;

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt as _, stream};
use uuid::Uuid;

use crate::{
    db,
    error::AppError,
    graphql::{
        context,
        types::room_events::{MemberJoined, MemberLeft, MessagePosted, PresenceSnapshot, RoomEvent, TypingChanged},
    },
    realtime::{
        broker::{Event, Lagged, Topic},
        registry::{CloseReason, ConnectionHandle},
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
    ) -> async_graphql::Result<impl Stream<Item = RoomEvent>> {
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
        let events = state.broker.subscribe(Topic::Room(room_id));
        let membership = state.room_presence.join(room_id, me);
        let snapshot =
            RoomEvent::PresenceSnapshot(PresenceSnapshot { users: state.room_presence.online_users(room_id) });
        let socket = ctx.data_opt::<Arc<ConnectionHandle>>().cloned();
        let me = viewer.user_id;

        let live = events.into_stream().filter_map(move |event| {
            // The membership lives as long as this stream: dropping the stream (complete,
            // close, revocation, idle expiry) is what makes the user leave.
            let _member = &membership;
            let event = match event {
                Ok(event) => room_event(&event, me),
                Err(Lagged(missed)) => {
                    // The socket could not keep up; closing it bounds memory, and the client
                    // reloads history and presence when it reconnects.
                    tracing::warn!(missed, "room subscriber fell behind; closing its socket");
                    if let Some(socket) = &socket {
                        socket.request_close(CloseReason::SLOW_CONSUMER);
                    }
                    None
                }
            };
            std::future::ready(event)
        });
        Ok(stream::once(std::future::ready(snapshot)).chain(live))
    }
}

/// The GraphQL event for a broker event, or `None` for events the subscriber does not get:
/// their own joins, leaves and typing.
fn room_event(event: &Event, me: Uuid) -> Option<RoomEvent> {
    match event {
        Event::MessagePosted(message) => Some(RoomEvent::MessagePosted(MessagePosted(message.clone()))),
        Event::MemberJoined { user, online_count } if user.id != me => {
            Some(RoomEvent::MemberJoined(MemberJoined { user: user.clone(), online_count: *online_count }))
        }
        Event::MemberLeft { user, online_count } if user.id != me => {
            Some(RoomEvent::MemberLeft(MemberLeft { user: user.clone(), online_count: *online_count }))
        }
        Event::TypingChanged { user, typing } if user.id != me => {
            Some(RoomEvent::TypingChanged(TypingChanged { user: user.clone(), typing: *typing }))
        }
        _ => None,
    }
}
