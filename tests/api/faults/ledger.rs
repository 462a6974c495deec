//! Holding the database to every answer the load got: a write that answered success is in
//! the database, whole; one that answered an error (or got no answer) left nothing
//! half-written: it is absent or whole. "Whole" is checked on the entire database, whatever
//! wrote it: every room's message numbers run 1..=last_seq with no gap or repeat, every post's
//! counters equal its rows, every like and comment of someone else's post has its
//! notification, and every account has its verification code and mail.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    Statement,
};
use serde_json::json;
use townsquare::db::entities::{chat_message, comment, mail_outbox, post, post_like, session, user};
use uuid::Uuid;

use super::{
    load::{Answer, Entry, Write, id_at},
    server_process::ServerProcess,
};

/// What the check found, for the test's report.
#[derive(Debug, Default)]
pub struct Tally {
    /// Writes that answered success (each found whole).
    pub acked: usize,
    /// Writes that answered an error.
    pub refused: usize,
    /// Writes that got no answer (the process died under them).
    pub unanswered: usize,
    /// Refused or unanswered writes that were stored all the same (whole): the client was not
    /// told, and a retry would store them twice.
    pub stored_unacknowledged: usize,
}

/// Checks every entry against the database, then the whole-database invariants.
pub async fn check(db: &DatabaseConnection, entries: &[Entry]) -> Tally {
    let mut tally = Tally::default();
    let mut verification_mails: HashMap<&str, usize> = HashMap::new();
    // Sessions a logout was sent for, whatever it answered: one whose logout got no answer
    // may or may not have ended (acknowledged logouts are checked on their own).
    let logout_sent: HashSet<Uuid> = entries
        .iter()
        .filter_map(|entry| match &entry.write {
            Write::Logout { session, .. } => Some(*session),
            _ => None,
        })
        .collect();
    for entry in entries {
        let Some(value) = entry.acked() else {
            match &entry.answer {
                Answer::Unanswered(_) => tally.unanswered += 1,
                _ => tally.refused += 1,
            }
            if stored(db, &entry.write).await {
                tally.stored_unacknowledged += 1;
            }
            continue;
        };
        tally.acked += 1;
        let id = |pointer: &str| id_at(value, pointer).unwrap_or_else(|| panic!("{entry:?} answered an id"));
        match &entry.write {
            Write::Message { room, body } => {
                let row = chat_message::Entity::find_by_id(id("/id")).one(db).await.expect("chat_message reads");
                let row = row.unwrap_or_else(|| panic!("acknowledged message {body:?} is not stored"));
                assert_eq!((row.room_id, &row.body), (*room, body), "message {body:?} is stored as sent");
            }
            Write::Post { body } => {
                let row = post::Entity::find_by_id(id("/id")).one(db).await.expect("post reads");
                assert_eq!(row.map(|row| row.body).as_ref(), Some(body), "acknowledged post {body:?} is stored");
            }
            Write::Comment { post, body } => {
                let row = comment::Entity::find_by_id(id("/id")).one(db).await.expect("comment reads");
                let row = row.unwrap_or_else(|| panic!("acknowledged comment {body:?} is not stored"));
                assert_eq!((row.post_id, &row.body), (*post, body), "comment {body:?} is stored as sent");
            }
            Write::Like { post, by } => {
                let likes = post_like::Entity::find()
                    .filter(post_like::Column::PostId.eq(*post))
                    .filter(post_like::Column::UserId.eq(*by))
                    .count(db)
                    .await
                    .expect("post_like reads");
                assert_eq!(likes, 1, "the acknowledged like of {post} by {by} is stored");
            }
            Write::Register { email } => {
                let account = user::Entity::find_by_id(id("/user/id")).one(db).await.expect("user reads");
                assert_eq!(account.map(|account| account.email).as_ref(), Some(email), "account {email} is stored");
                let session = session::Entity::find_by_id(id("/session/id")).one(db).await.expect("session reads");
                let session = session.unwrap_or_else(|| panic!("the session {email} registered with is not stored"));
                assert!(session.revoked_at.is_none(), "nothing revoked {email}'s first session");
            }
            Write::Login { email } => {
                let session_id = id("/session/id");
                let session = session::Entity::find_by_id(session_id).one(db).await.expect("session reads");
                if !logout_sent.contains(&session_id) {
                    let session = session.unwrap_or_else(|| panic!("the acknowledged login of {email} is not stored"));
                    assert!(session.revoked_at.is_none(), "a login of {email} nobody logged out stays live");
                }
            }
            Write::Logout { session, .. } => {
                // Cleanup deletes revoked sessions, so a logged-out one may be gone.
                let row = session::Entity::find_by_id(*session).one(db).await.expect("session reads");
                assert!(
                    row.is_none_or(|row| row.revoked_at.is_some()),
                    "the acknowledged logout of {session} is stored"
                );
            }
            Write::VerificationMail { email } => *verification_mails.entry(email).or_default() += 1,
        }
    }
    for (email, acked) in verification_mails {
        let queued = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Recipient.eq(email))
            .count(db)
            .await
            .expect("mail_outbox reads");
        // One more for the mail `register` queued.
        assert!(queued as usize > acked, "{acked} acknowledged verification mails for {email}, {queued} queued");
    }
    assert_whole(db).await;
    tally
}

/// Whether a write that was not acknowledged was stored all the same.
async fn stored(db: &DatabaseConnection, write: &Write) -> bool {
    match write {
        Write::Message { body, .. } => {
            chat_message::Entity::find().filter(chat_message::Column::Body.eq(body)).count(db).await.expect("reads") > 0
        }
        Write::Post { body } => {
            post::Entity::find().filter(post::Column::Body.eq(body)).count(db).await.expect("reads") > 0
        }
        Write::Comment { body, .. } => {
            comment::Entity::find().filter(comment::Column::Body.eq(body)).count(db).await.expect("reads") > 0
        }
        Write::Register { email } => {
            user::Entity::find().filter(user::Column::Email.eq(email)).count(db).await.expect("reads") > 0
        }
        // Repeatable, or with no row of their own to find: the invariants cover them.
        Write::Like { .. } | Write::Login { .. } | Write::Logout { .. } | Write::VerificationMail { .. } => false,
    }
}

/// The whole-database invariants (see the module doc); panics naming the first one broken.
pub async fn assert_whole(db: &DatabaseConnection) {
    let rooms = numbers(
        db,
        "SELECT r.last_seq, COUNT(m.id), COUNT(DISTINCT m.seq), COALESCE(MAX(m.seq), 0), COALESCE(MIN(m.seq), 1) \
         FROM chat_room r LEFT JOIN chat_message m ON m.room_id = r.id GROUP BY r.id, r.last_seq",
    )
    .await;
    for room in rooms {
        let [last_seq, count, distinct, max, min] = room[..] else { panic!("five integer columns: {room:?}") };
        assert!(
            count == last_seq && distinct == count && max == last_seq && min == 1,
            "a room's messages are numbered 1..=last_seq with no gap or repeat: last_seq {last_seq}, \
             {count} messages, {distinct} distinct numbers from {min} to {max}"
        );
    }
    let posts = numbers(
        db,
        "SELECT CAST(p.like_count AS BIGINT), (SELECT COUNT(*) FROM post_like l WHERE l.post_id = p.id), \
         CAST(p.comment_count AS BIGINT), (SELECT COUNT(*) FROM comment c WHERE c.post_id = p.id) FROM post p",
    )
    .await;
    for counts in posts {
        assert!(counts[0] == counts[1] && counts[2] == counts[3], "a post's counters equal its rows: {counts:?}");
    }
    let orphans = [
        (
            "likes of someone else's post without their notification",
            "SELECT COUNT(*) FROM post_like l JOIN post p ON p.id = l.post_id WHERE l.user_id <> p.author_id \
             AND NOT EXISTS (SELECT 1 FROM notification n WHERE n.kind = 'POST_LIKED' AND n.post_id = l.post_id \
             AND n.actor_id = l.user_id)",
        ),
        (
            "comments on someone else's post without their notification",
            "SELECT COUNT(*) FROM comment c JOIN post p ON p.id = c.post_id WHERE c.author_id <> p.author_id \
             AND NOT EXISTS (SELECT 1 FROM notification n WHERE n.comment_id = c.id)",
        ),
        (
            "accounts without a verification code",
            "SELECT COUNT(*) FROM \"user\" u WHERE NOT EXISTS (SELECT 1 FROM one_time_code o WHERE o.user_id = u.id)",
        ),
        (
            "accounts without their verification mail",
            "SELECT COUNT(*) FROM \"user\" u WHERE NOT EXISTS \
             (SELECT 1 FROM mail_outbox o WHERE o.recipient = u.email)",
        ),
    ];
    for (what, sql) in orphans {
        let count = numbers(db, sql).await[0][0];
        assert_eq!(count, 0, "{what}: {count}");
    }
}

/// The rows of `sql`, each as its columns read as integers.
async fn numbers(db: &DatabaseConnection, sql: &str) -> Vec<Vec<i64>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    rows.iter().map(|row| (0..).map_while(|column| row.try_get_by_index::<i64>(column).ok()).collect()).collect()
}

/// Every acknowledged login and registration nobody logged out still signs its token in, and
/// every acknowledged logout's token is refused: asked of the server, which reads its sessions
/// from the database (a restarted one has nothing cached).
pub async fn check_sessions(server: &ServerProcess, entries: &[Entry]) {
    let mut live = Vec::new();
    let mut revoked = Vec::new();
    for entry in entries {
        let Some(value) = entry.acked() else { continue };
        match &entry.write {
            Write::Register { .. } | Write::Login { .. } => {
                let token = value["token"].as_str().expect("a token").to_string();
                live.push((id_at(value, "/session/id"), id_at(value, "/user/id"), token));
            }
            Write::Logout { session, token } => revoked.push((*session, token.clone())),
            _ => {}
        }
    }
    let ended: HashSet<Uuid> = revoked.iter().map(|(session, _)| *session).collect();
    // A login whose logout got no answer may or may not have ended; it is not checked.
    let unsure: HashSet<Uuid> = entries
        .iter()
        .filter(|entry| entry.acked().is_none())
        .filter_map(|entry| match &entry.write {
            Write::Logout { session, .. } => Some(*session),
            _ => None,
        })
        .collect();
    for (session, user, token) in live {
        if session.is_some_and(|session| ended.contains(&session) || unsure.contains(&session)) {
            continue;
        }
        let me = server.graphql(Some(&token), "{ me { id } }", json!({})).await;
        assert_eq!(id_at(&me, "/data/me/id"), user, "the token of session {session:?} still signs in: {me}");
    }
    for (session, token) in revoked {
        let me = server.graphql(Some(&token), "{ me { id } }", json!({})).await;
        assert!(me["data"]["me"].is_null(), "the token of logged-out session {session} stays refused: {me}");
    }
}
