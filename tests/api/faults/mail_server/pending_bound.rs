//! `MAX_PENDING_MAILS_PER_ADDRESS` while the mail server is away: past the bound the oldest
//! code mails that a newer code replaces are given up, the password-changed notice and the
//! newest code of each kind are kept, and the requests answer exactly as for an address
//! with no account.

use std::collections::BTreeSet;

use serde_json::json;
use townsquare::mail::{
    bound::SUPERSEDED,
    templates::{PASSWORD_CHANGED_SUBJECT, RESET_CODE_SUBJECT, VERIFICATION_CODE_SUBJECT},
};

use super::{answered, app_for, mail_with_body, metrics, register, request_reset, wait_for_rows};
use crate::{
    faults::smtp_faults::{Behaviour, FaultySmtp},
    smtp_sink::code_in,
};

const RESET_PASSWORD: &str = "mutation($email: String!, $code: String!, $password: String!) {
    resetPassword(email: $email, code: $code, newPassword: $password)
}";

#[tokio::test]
async fn past_the_bound_older_codes_give_way_notices_stay_and_every_answer_is_the_usual_one() {
    let server = FaultySmtp::start(Behaviour::Refuse).await;
    let app = app_for(&server, |settings| {
        settings.mail.max_pending_per_address = 3;
        // One address asks again and again, faster than the per-address limit allows.
        settings.rate_limits.enabled = false;
    })
    .await;
    let email = "bea@example.com";
    let unknown = request_reset(&app, "nobody@example.com").await;
    assert_eq!(unknown["data"]["requestPasswordReset"], true, "{unknown}");

    // A verification code, a reset code, and the notice that the password changed.
    register(&app, "bea").await;
    assert_eq!(request_reset(&app, email).await, unknown, "the same answer as for an address with no account");
    let queued = wait_for_rows(&app, email, "queued", |rows| rows.len() == 2).await;
    let first_code = code_in(&mail_with_body(&queued[1].body));
    let variables = json!({ "email": email, "code": first_code, "password": "another violet marmalade 77" });
    let changed = answered("resetPassword", app.graphql(RESET_PASSWORD, variables)).await;
    assert_eq!(changed["data"]["resetPassword"], true, "{changed}");
    wait_for_rows(&app, email, "the notice queued", |rows| rows.len() == 3).await;

    // Four more reset codes: seven mails for a bound of three.
    for _ in 0..4 {
        assert_eq!(request_reset(&app, email).await, unknown, "a full queue changes no answer");
    }
    let rows = wait_for_rows(&app, email, "trimmed to the bound", |rows| {
        rows.len() == 7 && rows.iter().filter(|row| row.status == "pending").count() == 3
    })
    .await;

    let pending: BTreeSet<&str> =
        rows.iter().filter(|row| row.status == "pending").map(|row| row.subject.as_str()).collect();
    let kept = BTreeSet::from([VERIFICATION_CODE_SUBJECT, RESET_CODE_SUBJECT, PASSWORD_CHANGED_SUBJECT]);
    assert_eq!(pending, kept, "the notice and the newest code of each kind stay");
    let newest_reset = rows.iter().rev().find(|row| row.subject == RESET_CODE_SUBJECT).expect("a reset mail");
    assert_eq!(newest_reset.status, "pending", "the newest reset code is the one kept");
    let given_up: Vec<_> = rows.iter().filter(|row| row.status == "abandoned").collect();
    assert_eq!(given_up.len(), 4, "{rows:#?}");
    for row in given_up {
        assert_eq!(row.subject, RESET_CODE_SUBJECT, "only replaced codes go");
        assert_eq!(row.last_error.as_deref(), Some(SUPERSEDED));
    }
    assert!(metrics(&app).await.contains("mail_superseded_total"));

    // The server comes back: the three kept mails arrive, and the code that arrives works.
    server.set(Behaviour::Behave).await;
    app.mail_settled().await;
    let mails = server.mails_to(email);
    let subjects: BTreeSet<&str> = mails.iter().map(|mail| mail.subject.as_str()).collect();
    assert_eq!((mails.len(), subjects), (3, kept));
    let reset = mails.iter().find(|mail| mail.subject == RESET_CODE_SUBJECT).expect("the reset mail");
    let variables = json!({ "email": email, "code": code_in(reset), "password": "a third violet marmalade 78" });
    let changed = app.graphql(RESET_PASSWORD, variables).await;
    assert_eq!(changed["data"]["resetPassword"], true, "the delivered code is the live one: {changed}");
}
