//! Accounts: `register`, `login`, `verifyEmail`, `requestEmailVerification`,
//! `requestPasswordReset`, `resetPassword`.

use async_graphql::{Context, Object};
use sea_orm::TransactionTrait as _;
use uuid::Uuid;

use crate::{
    auth::codes::{self, Purpose},
    db::{self, entities::user, users::UserRecord},
    domain::{AccountWords, DisplayName, Email, Password, Username},
    error::AppError,
    graphql::{
        context::{self, claim_secret_check},
        types::{AuthPayload, RegisterInput, Session, User},
    },
    mail::{self, templates},
    sessions::{self, EndReason},
    state::AppState,
};

/// Account mutations.
#[derive(Default)]
pub struct AccountsMutation;

fn internal(error: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(error.into())
}

/// The sentence for a taken email or username, from the violated constraint's text.
fn taken_message(detail: &str) -> String {
    if detail.contains("email") {
        "An account with this email already exists. Sign in, or reset its password.".into()
    } else if detail.contains("username") {
        "That username is taken. Choose another one.".into()
    } else {
        "That account already exists.".into()
    }
}

#[Object]
impl AccountsMutation {
    /// Creates an account, signs it in, and emails a verification code.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> async_graphql::Result<AuthPayload> {
        let state = context::state(ctx)?;
        let client = context::client(ctx);
        state.rate_limits.register(client.ip).await?;
        let email = Email::parse(&input.email).map_err(AppError::from)?;
        let username = Username::parse(&input.username).map_err(AppError::from)?;
        let display_name = DisplayName::parse(input.display_name.as_deref(), &username).map_err(AppError::from)?;
        let words =
            AccountWords { email: email.as_str(), username: username.as_str(), display_name: display_name.as_str() };
        let password = Password::parse_new(&input.password, &words).map_err(AppError::from)?;

        // Both hashes run before the transaction opens: no lock waits on argon2.
        let password_hash = state.hasher.hash(password.expose().to_string()).await.map_err(internal)?;
        let code = codes::prepare(state, Purpose::VerifyEmail).await?;
        let mail =
            templates::verification_code(email.as_str(), username.as_str(), &code.code, codes::ttl_minutes(state));

        let now = db::now();
        let account = user::Model {
            id: Uuid::now_v7(),
            email: email.as_str().to_string(),
            username: username.as_str().to_string(),
            display_name: display_name.as_str().to_string(),
            password_hash,
            email_verified_at: None,
            role: "USER".into(),
            created_at: now,
        };
        let txn = state.db.begin().await.map_err(AppError::from)?;
        db::users::insert(&txn, account.clone())
            .await
            .map_err(|error| AppError::from_db_unique(error, taken_message))?;
        let (session, token) = sessions::sign_in(state, &txn, account.id, client.user_agent).await?;
        codes::store(state, &txn, account.id, code).await?;
        mail::enqueue(&txn, &mail, now).await.map_err(AppError::from)?;
        txn.commit().await.map_err(AppError::from)?;
        state.mail_wakeup.notify_one();
        context::record_sign_in(ctx, account.id);

        Ok(AuthPayload {
            token,
            expires_at: session.expires_at.into(),
            user: User(UserRecord::from(account)),
            session: Session { model: session, current: true },
        })
    }

    /// Signs in with email and password. A wrong password and an unknown address get the
    /// same answer, in the same time.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> async_graphql::Result<AuthPayload> {
        claim_secret_check(ctx)?;
        let state = context::state(ctx)?;
        let client = context::client(ctx);
        let email = email.trim().to_lowercase();
        state.rate_limits.login(&email, client.ip).await?;
        let account = db::users::find_by_email(&state.db, &email).await.map_err(AppError::from)?;
        let verified = match &account {
            Some(account) => state.hasher.verify(password, account.password_hash.clone()).await,
            None => state.hasher.verify_unknown(password).await,
        }
        .map_err(internal)?;
        let Some(account) = account.filter(|_| verified) else {
            metrics::counter!("logins_total", "outcome" => "failed").increment(1);
            return Err(AppError::Unauthenticated("The email or password is wrong.".into()).into());
        };
        let (session, token) = sessions::sign_in(state, &state.db, account.id, client.user_agent).await?;
        metrics::counter!("logins_total", "outcome" => "ok").increment(1);
        context::record_sign_in(ctx, account.id);
        Ok(AuthPayload {
            token,
            expires_at: session.expires_at.into(),
            user: User(UserRecord::from(account)),
            session: Session { model: session, current: true },
        })
    }

    /// Confirms the address with the code emailed at registration (or by requestEmailVerification).
    async fn verify_email(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<User> {
        let viewer = context::require_viewer(ctx)?;
        claim_secret_check(ctx)?;
        let state = context::state(ctx)?;
        let account = viewer_account(state, viewer.user_id).await?;
        state.rate_limits.code_attempt(&account.email, context::client(ctx).ip).await?;
        codes::consume(state, account.id, Purpose::VerifyEmail, &code).await?;
        let now = db::now();
        db::users::mark_email_verified(&state.db, account.id, now).await.map_err(AppError::from)?;
        let mut record = UserRecord::from(account);
        record.email_verified_at.get_or_insert(now);
        Ok(User(record))
    }

    /// Emails a new verification code (the previous one stops working).
    async fn request_email_verification(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let account = viewer_account(state, viewer.user_id).await?;
        if account.email_verified_at.is_some() {
            return Err(AppError::bad_input("Your email address is already verified.").into());
        }
        state.rate_limits.reset_request(&format!("verify:{}", account.email), context::client(ctx).ip).await?;
        let code = codes::prepare(state, Purpose::VerifyEmail).await?;
        let mail =
            templates::verification_code(&account.email, &account.username, &code.code, codes::ttl_minutes(state));
        let txn = state.db.begin().await.map_err(AppError::from)?;
        codes::store(state, &txn, account.id, code).await?;
        mail::enqueue(&txn, &mail, db::now()).await.map_err(AppError::from)?;
        txn.commit().await.map_err(AppError::from)?;
        state.mail_wakeup.notify_one();
        Ok(true)
    }

    /// Always true, whether or not the address is registered.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> async_graphql::Result<bool> {
        let state = context::state(ctx)?;
        let email = Email::parse(&email).map_err(AppError::from)?;
        state.rate_limits.reset_request(email.as_str(), context::client(ctx).ip).await?;
        // `true` promises the mail will be queued: with the database away it could not be,
        // so the client hears SERVICE_UNAVAILABLE, for every address alike.
        db::ping(&state.db).await.map_err(|error| AppError::ServiceUnavailable(error.into()))?;
        // The lookup, hashing and writes run after the answer, in a tracked task: the
        // answer's timing is the same whether or not the address has an account.
        let state = state.clone();
        state.tasks.clone().spawn(async move { issue_reset_code_retrying(&state, email.as_str()).await });
        Ok(true)
    }

    /// Sets a new password with the emailed code, then revokes every session of the user.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        claim_secret_check(ctx)?;
        let state = context::state(ctx)?;
        let email = Email::parse(&email).map_err(AppError::from)?;
        state.rate_limits.code_attempt(email.as_str(), context::client(ctx).ip).await?;
        let Some(account) = db::users::find_by_email(&state.db, email.as_str()).await.map_err(AppError::from)? else {
            return Err(codes::invalid_code().into());
        };
        // Checked before the code is spent, so a refused password does not burn the code.
        let words =
            AccountWords { email: &account.email, username: &account.username, display_name: &account.display_name };
        let password = Password::parse_new(&new_password, &words).map_err(AppError::from)?;
        codes::consume(state, account.id, Purpose::ResetPassword, &code).await?;
        let password_hash = state.hasher.hash(password.expose().to_string()).await.map_err(internal)?;

        let txn = state.db.begin().await.map_err(AppError::from)?;
        db::users::set_password_hash(&txn, account.id, password_hash).await.map_err(AppError::from)?;
        let ended = sessions::revoke(&txn, account.id, None, None, EndReason::PasswordReset).await?;
        mail::enqueue(&txn, &templates::password_changed(&account.email, &account.username), db::now())
            .await
            .map_err(AppError::from)?;
        txn.commit().await.map_err(AppError::from)?;
        sessions::announce(state, &ended);
        state.mail_wakeup.notify_one();
        Ok(true)
    }
}

/// The viewer's account row; a viewer whose account vanished is no longer signed in.
async fn viewer_account(state: &AppState, user_id: Uuid) -> Result<user::Model, AppError> {
    db::users::find_account(&state.db, user_id)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("This account no longer exists.".into()))
}

/// Emails a reset code when `email` has an account; does nothing visible otherwise.
/// How long a reset code's issue keeps retrying while the database is away after the answer
/// went out, before the request is given up (logged): a longer outage than this also fails
/// the ping of any new request, so the user sees it and asks again.
const RESET_ISSUE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// [`issue_reset_code`], retried with a doubling pause (from 250 ms) while the database does
/// not answer, for at most [`RESET_ISSUE_PATIENCE`] or until shutdown.
async fn issue_reset_code_retrying(state: &AppState, email: &str) {
    let give_up_at = tokio::time::Instant::now() + RESET_ISSUE_PATIENCE;
    let mut pause = std::time::Duration::from_millis(250);
    loop {
        match issue_reset_code(state, email).await {
            Ok(()) => return,
            Err(AppError::ServiceUnavailable(cause)) if tokio::time::Instant::now() + pause < give_up_at => {
                tracing::warn!(error = ?cause, retry_in = ?pause, "password reset code: the database is away, retrying");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = state.shutdown.cancelled() => {
                        tracing::error!("password reset code not issued: shutting down while the database is away");
                        return;
                    }
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(5));
            }
            Err(error) => {
                tracing::error!(code = error.code(), error = ?error, "could not issue a password reset code");
                return;
            }
        }
    }
}

async fn issue_reset_code(state: &AppState, email: &str) -> Result<(), AppError> {
    let account = db::users::find_by_email(&state.db, email).await?;
    // The code is drawn and hashed either way, so the work done does not depend on the answer.
    let code = codes::prepare(state, Purpose::ResetPassword).await?;
    let Some(account) = account else { return Ok(()) };
    let mail = templates::reset_code(&account.email, &account.username, &code.code, codes::ttl_minutes(state));
    let txn = state.db.begin().await?;
    codes::store(state, &txn, account.id, code).await?;
    mail::enqueue(&txn, &mail, db::now()).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}
