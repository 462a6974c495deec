//! The texts of every mail the server sends, and which of them a newer one makes useless.

use super::OutgoingMail;

/// The subject of the mail carrying an address-verification code.
pub const VERIFICATION_CODE_SUBJECT: &str = "Your townsquare verification code";
/// The subject of the mail carrying a password-reset code.
pub const RESET_CODE_SUBJECT: &str = "Your townsquare password reset code";
/// The subject of the notice sent after a password reset.
pub const PASSWORD_CHANGED_SUBJECT: &str = "Your townsquare password was changed";

/// The code that confirms a new account's address.
pub fn verification_code(to: &str, username: &str, code: &str, minutes: u64) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: VERIFICATION_CODE_SUBJECT.into(),
        body: format!(
            "Hi {username},\n\nYour verification code is {code}\n\nIt expires in {minutes} minutes. \
             If you did not create a townsquare account, ignore this mail.\n"
        ),
    }
}

/// The code that allows a password reset.
pub fn reset_code(to: &str, username: &str, code: &str, minutes: u64) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: RESET_CODE_SUBJECT.into(),
        body: format!(
            "Hi {username},\n\nYour password reset code is {code}\n\nIt expires in {minutes} minutes. \
             If you did not ask to reset your password, ignore this mail: your password stays as it is.\n"
        ),
    }
}

/// The notice after a password was reset.
pub fn password_changed(to: &str, username: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: PASSWORD_CHANGED_SUBJECT.into(),
        body: format!(
            "Hi {username},\n\nYour password was just reset and every device was signed out. \
             If this was not you, reset your password again at once.\n"
        ),
    }
}

/// True for a mail that a newer mail with the same subject to the same address makes
/// useless: the code mails, since `auth::codes::store` keeps one code per purpose and the
/// older code stops working. The outbox stores no kind column, and each template's subject
/// is fixed, so the subject is the kind. Every other mail (the password-changed notice, a
/// subject this list does not know) must be delivered: a dropped security notice could hide
/// an account takeover.
pub fn superseded_by_a_newer_one(subject: &str) -> bool {
    subject == VERIFICATION_CODE_SUBJECT || subject == RESET_CODE_SUBJECT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_mails_give_way_to_newer_ones_and_notices_never_do() {
        assert!(superseded_by_a_newer_one(&verification_code("a@example.com", "a", "123456", 10).subject));
        assert!(superseded_by_a_newer_one(&reset_code("a@example.com", "a", "123456", 10).subject));
        assert!(!superseded_by_a_newer_one(&password_changed("a@example.com", "a").subject));
        assert!(!superseded_by_a_newer_one("Something new"), "an unknown kind is kept");
    }
}
