//! Demo data: a few people, posts, likes and comments, so a newcomer's first look at GraphiQL
//! shows a populated feed. Written in one transaction: all of it or none.

use anyhow::Context as _;
use chrono::Duration;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, TransactionTrait};
use uuid::Uuid;

use crate::{
    auth::password::PasswordHasher,
    db::{
        self,
        entities::{comment, post, post_like, user},
    },
};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "townsquare-demo";

const PEOPLE: &[(&str, &str)] = &[
    ("alice", "Alice Archer"),
    ("bob", "Bob Baker"),
    ("carol", "Carol Cruz"),
    ("dave", "Dave Diaz"),
    ("erin", "Erin Ellis"),
];

/// (author, body, likers, comments as (author, body)).
type DemoPost = (usize, &'static str, &'static [usize], &'static [(usize, &'static str)]);

const POSTS: &[DemoPost] = &[
    (
        0,
        "Welcome to townsquare! Say hi below.",
        &[1, 2, 3, 4],
        &[(1, "Hi Alice!"), (2, "Hello everyone"), (1, "Nice to be here.")],
    ),
    (1, "Sourdough attempt number four. It finally rose.", &[0, 2], &[(0, "Recipe please!"), (3, "Looks great")]),
    (
        2,
        "Anyone up for a run by the river on Saturday?",
        &[3],
        &[(3, "Count me in."), (4, "What time?"), (2, "8 am at the bridge.")],
    ),
    (3, "Finished the book club pick. No spoilers, but wow.", &[0, 1, 4], &[]),
    (4, "First post. Be gentle.", &[0, 1, 2, 3], &[(0, "Welcome, Erin!")]),
    (0, "The farmers market has peaches again.", &[4], &[(4, "Best news this week.")]),
    (
        2,
        "Chat rooms are coming soon. What should the first one be called?",
        &[0, 1],
        &[(1, "#general"), (0, "#random"), (4, "#general")],
    ),
];

/// Fills the database with demo data. Returns false (and writes nothing) when users exist.
pub async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<bool> {
    if db::users::count(db).await.context("could not count users")? > 0 {
        return Ok(false);
    }
    let password_hash =
        PasswordHasher::new(1).hash(DEMO_PASSWORD.to_string()).await.context("could not hash the demo password")?;
    let start = db::now() - Duration::hours(24);
    let user_ids: Vec<Uuid> = PEOPLE.iter().map(|_| Uuid::now_v7()).collect();

    let txn = db.begin().await.context("could not start the seed transaction")?;
    user::Entity::insert_many(PEOPLE.iter().zip(&user_ids).map(|((username, display_name), id)| user::ActiveModel {
        id: Set(*id),
        email: Set(format!("{username}@example.com")),
        username: Set((*username).to_string()),
        display_name: Set((*display_name).to_string()),
        password_hash: Set(password_hash.clone()),
        email_verified_at: Set(Some(start)),
        role: Set("USER".into()),
        created_at: Set(start),
    }))
    .exec(&txn)
    .await
    .context("could not insert demo users")?;

    for (index, (author, body, likers, comments)) in POSTS.iter().enumerate() {
        let post_id = Uuid::now_v7();
        let posted_at = start + Duration::hours(3 * index as i64 + 1);
        post::Entity::insert(post::ActiveModel {
            id: Set(post_id),
            author_id: Set(user_ids[*author]),
            body: Set((*body).to_string()),
            like_count: Set(likers.len() as i32),
            comment_count: Set(comments.len() as i32),
            created_at: Set(posted_at),
        })
        .exec(&txn)
        .await
        .context("could not insert a demo post")?;
        for (order, liker) in likers.iter().enumerate() {
            post_like::Entity::insert(post_like::ActiveModel {
                post_id: Set(post_id),
                user_id: Set(user_ids[*liker]),
                created_at: Set(posted_at + Duration::minutes(10 * order as i64 + 5)),
            })
            .exec_without_returning(&txn)
            .await
            .context("could not insert a demo like")?;
        }
        for (order, (commenter, text)) in comments.iter().enumerate() {
            comment::Entity::insert(comment::ActiveModel {
                id: Set(Uuid::now_v7()),
                post_id: Set(post_id),
                author_id: Set(user_ids[*commenter]),
                body: Set((*text).to_string()),
                created_at: Set(posted_at + Duration::minutes(15 * order as i64 + 7)),
            })
            .exec(&txn)
            .await
            .context("could not insert a demo comment")?;
        }
    }
    txn.commit().await.context("could not commit the demo data")?;
    Ok(true)
}
