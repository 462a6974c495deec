//! The texts of every mail the server sends.

use super::OutgoingMail;

/// The code that confirms a new account's address.
pub fn verification_code(to: &str, username: &str, code: &str, minutes: u64) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: "Your townsquare verification code".into(),
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
        subject: "Your townsquare password reset code".into(),
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
        subject: "Your townsquare password was changed".into(),
        body: format!(
            "Hi {username},\n\nYour password was just reset and every device was signed out. \
             If this was not you, reset your password again at once.\n"
        ),
    }
}
