//! `contactPresence`: one event per contact with its current state, then every change.

use std::collections::HashMap;

use async_graphql::{Context, Subscription};
use futures_util::{StreamExt as _, stream, stream::BoxStream};
use uuid::Uuid;

use crate::{
    db::{self, users::UserRecord},
    error::AppError,
    graphql::{
        context,
        live::{self, EventFilter, LiveItem, LiveSource, Pick},
        types::room_events::ContactPresence,
    },
    realtime::broker::{Event, Topic},
};

/// Contact subscriptions.
#[derive(Default)]
pub struct ContactsSubscription;

#[Subscription]
impl ContactsSubscription {
    /// First one event per contact with its current state; then every online/offline change.
    async fn contact_presence(&self, ctx: &Context<'_>) -> async_graphql::Result<BoxStream<'static, ContactPresence>> {
        if let Some(rendered) = live::rendered(ctx, |item| match item {
            LiveItem::Contact(presence) => Some(presence),
            _ => None,
        }) {
            return Ok(rendered?);
        }
        let viewer = *context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        // Listen first, then read the state: a change in between arrives after the snapshot.
        let listener = state.broker.subscribe(Topic::Presence);
        let contacts = db::contacts::list(&state.db, viewer.user_id).await.map_err(AppError::from)?;
        let ids: Vec<Uuid> = contacts.iter().map(|contact| contact.id).collect();
        let online = state.registry.online_among(&ids).await;
        let first: Vec<_> = contacts
            .iter()
            .map(|contact| ContactPresence { user: contact.clone(), online: online.contains(&contact.id) })
            .collect();
        // The contacts' records, kept for the live events: a change costs no database read.
        let followed = Followed(contacts.into_iter().map(|contact| (contact.id, contact)).collect());
        live::hand_over(ctx, LiveSource { listener, filter: Box::new(followed) })?;
        Ok(stream::iter(first).boxed())
    }
}

/// The viewer's contacts, whose presence changes the subscriber gets.
struct Followed(HashMap<Uuid, UserRecord>);

impl EventFilter for Followed {
    fn pick(&mut self, event: &Event) -> Pick {
        match event {
            Event::PresenceChanged { user_id, online } => match self.0.get(user_id) {
                Some(user) => Pick::Own(LiveItem::Contact(ContactPresence { user: user.clone(), online: *online })),
                None => Pick::Skip,
            },
            _ => Pick::Skip,
        }
    }
}
