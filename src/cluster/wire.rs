//! What instances say to each other over Redis pub/sub, and on which channel.
//!
//! Every message is one JSON envelope naming the instance that sent it, so an instance
//! ignores its own messages coming back (it delivered them locally already). Channels:
//! `{prefix}:room:{id}`, `{prefix}:user:{id}` and `{prefix}:presence` carry the broker's topics;
//! `{prefix}:ctl` carries ended sessions; `{prefix}:node:{id}` carries one instance's probes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    realtime::broker::{Event, Topic},
    sessions::SessionEnded,
};

/// One message between instances.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The node id of the sender.
    pub origin: Uuid,
    /// What it says.
    pub body: Body,
}

/// What a message says.
#[derive(Debug, Serialize, Deserialize)]
pub enum Body {
    /// An event published on a topic.
    Event(Topic, Event),
    /// A typing indicator renewed (not shown again; receivers restart their lapse timer).
    TypingRenewed(Topic, Uuid),
    /// The sender could not pass events of this topic on: listeners re-read what they show.
    Sync(Topic),
    /// The sender lost events of more topics than it keeps track of: every listener of
    /// every instance re-reads.
    SyncAll,
    /// A login session ended: close its sockets and forget it.
    SessionEnded(SessionEnded),
    /// The sender checking that its subscription still receives.
    Probe,
}

/// The channel a topic's events travel on.
pub fn topic_channel(prefix: &str, topic: Topic) -> String {
    match topic {
        Topic::User(id) => format!("{prefix}:user:{id}"),
        Topic::Room(id) => format!("{prefix}:room:{id}"),
        Topic::Presence => format!("{prefix}:presence"),
        Topic::Revocation => control_channel(prefix),
    }
}

/// The channel every instance listens on for ended sessions.
pub fn control_channel(prefix: &str) -> String {
    format!("{prefix}:ctl")
}

/// The channel of one instance's probes.
pub fn node_channel(prefix: &str, node: Uuid) -> String {
    format!("{prefix}:node:{node}")
}

/// What kind of channel `channel` is, for the received-events metric.
pub fn channel_kind<'a>(prefix: &str, channel: &'a str) -> &'a str {
    let rest = channel.strip_prefix(prefix).and_then(|rest| rest.strip_prefix(':')).unwrap_or(channel);
    rest.split(':').next().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_sit_under_the_prefix_and_are_classified_by_kind() {
        let room = Uuid::now_v7();
        let channel = topic_channel("ts", Topic::Room(room));
        assert_eq!(channel, format!("ts:room:{room}"));
        assert_eq!(channel_kind("ts", &channel), "room");
        assert_eq!(channel_kind("ts", &control_channel("ts")), "ctl");
        assert_eq!(channel_kind("ts", &topic_channel("ts", Topic::Presence)), "presence");
    }
}
