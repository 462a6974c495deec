//! `contactPresence`: one event per contact with its current state, then every change.
//!
//! Each subscriber remembers the state it last sent per contact: a change it already showed
//! is not sent again, and after a `Resync` (changes may have been missed while Redis was
//! away) the contacts' states are read again and only those that differ are sent.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{Context, Subscription};
use futures_util::{FutureExt as _, StreamExt as _, stream, stream::BoxStream};
use uuid::Uuid;

use crate::{
    db::{self, users::UserRecord},
    error::AppError,
    graphql::{
        context,
        live::{self, EventFilter, LiveItem, LiveSource, Pick},
        types::room_events::ContactPresence,
    },
    realtime::{
        broker::{Event, Topic},
        registry::Registry,
    },
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
        let contacts = contacts
            .into_iter()
            .map(|contact| {
                let shown = online.contains(&contact.id);
                (contact.id, (contact, shown))
            })
            .collect();
        let followed = Followed { contacts: Arc::new(Mutex::new(contacts)), registry: state.registry.clone() };
        live::hand_over(ctx, LiveSource { listener, filter: Box::new(followed) })?;
        Ok(stream::iter(first).boxed())
    }
}

/// The viewer's contacts, whose presence changes the subscriber gets.
struct Followed {
    /// Each contact's record and the state last sent (shared with a running resync).
    contacts: Arc<Mutex<HashMap<Uuid, (UserRecord, bool)>>>,
    /// Where a resync reads the states.
    registry: Arc<Registry>,
}

impl Followed {
    /// Reads every contact's state again and sends those that changed.
    fn resync(&self) -> Pick {
        let (contacts, registry) = (self.contacts.clone(), self.registry.clone());
        Pick::Fill(
            async move {
                let ids: Vec<Uuid> = contacts.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect();
                let online = registry.online_among(&ids).await;
                let mut contacts = contacts.lock().unwrap_or_else(PoisonError::into_inner);
                contacts
                    .values_mut()
                    .filter_map(|(user, shown)| {
                        let now = online.contains(&user.id);
                        (now != *shown).then(|| {
                            *shown = now;
                            LiveItem::Contact(ContactPresence { user: user.clone(), online: now })
                        })
                    })
                    .collect()
            }
            .boxed(),
        )
    }
}

impl EventFilter for Followed {
    fn pick(&mut self, event: &Event) -> Pick {
        match event {
            Event::PresenceChanged { user_id, online } => {
                let mut contacts = self.contacts.lock().unwrap_or_else(PoisonError::into_inner);
                match contacts.get_mut(user_id) {
                    Some((user, shown)) if *shown != *online => {
                        *shown = *online;
                        Pick::Own(LiveItem::Contact(ContactPresence { user: user.clone(), online: *online }))
                    }
                    _ => Pick::Skip,
                }
            }
            Event::Resync => self.resync(),
            _ => Pick::Skip,
        }
    }
}
