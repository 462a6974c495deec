//! `contactPresence`: one event per contact with its current state, then every change.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Subscription};
use futures_util::{Stream, StreamExt as _, stream};

use crate::{
    db,
    error::AppError,
    graphql::{context, types::room_events::ContactPresence},
    realtime::{
        broker::{Event, Lagged, Topic},
        registry::{CloseReason, ConnectionHandle},
    },
};

/// Contact subscriptions.
#[derive(Default)]
pub struct ContactsSubscription;

#[Subscription]
impl ContactsSubscription {
    /// First one event per contact with its current state; then every online/offline change.
    async fn contact_presence(&self, ctx: &Context<'_>) -> async_graphql::Result<impl Stream<Item = ContactPresence>> {
        let viewer = *context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        // Listen first, then read the state: a change in between arrives after the snapshot.
        let changes = state.broker.subscribe(Topic::Presence);
        let contacts = db::contacts::list(&state.db, viewer.user_id).await.map_err(AppError::from)?;
        let snapshot: Vec<ContactPresence> = contacts
            .iter()
            .map(|contact| ContactPresence { user: contact.clone(), online: state.registry.is_online(contact.id) })
            .collect();
        // The contacts' records, kept for the live events: a change costs no database read.
        let followed: HashMap<_, _> = contacts.into_iter().map(|contact| (contact.id, contact)).collect();
        let socket = ctx.data_opt::<Arc<ConnectionHandle>>().cloned();
        let live = changes.into_stream().filter_map(move |change| {
            let event = match change {
                Ok(event) => match &*event {
                    Event::PresenceChanged { user_id, online } => {
                        followed.get(user_id).map(|user| ContactPresence { user: user.clone(), online: *online })
                    }
                    _ => None,
                },
                Err(Lagged(_)) => {
                    // Presence changes were lost: the client resubscribes for a fresh snapshot.
                    if let Some(socket) = &socket {
                        socket.request_close(CloseReason::SLOW_CONSUMER);
                    }
                    None
                }
            };
            std::future::ready(event)
        });
        Ok(stream::iter(snapshot).chain(live))
    }
}
