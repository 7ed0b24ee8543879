//! Email verification's mail: the code `domain::users::verification` issues, sent to the address.
use crate::mail::{MailMessage, Mailer};
use entity::user;

pub use domain::users::verification::{confirm, issue};

/// Makes a new code for the account's address and mails it. Earlier codes stay valid until they expire.
pub async fn send(
    db: &impl sea_orm::ConnectionTrait,
    mailer: &dyn Mailer,
    link_base: &str,
    account: &user::Model,
) -> crate::error::AppResult<()> {
    let code = issue(db, account).await?;
    mail(mailer, link_base, account, &code);
    Ok(())
}

/// Mails a code from `issue` to the account's address.
pub fn mail(mailer: &dyn Mailer, link_base: &str, account: &user::Model, token: &str) {
    mailer.send(MailMessage {
        to: account.email.clone(),
        subject: "Confirm your email address for Pitch In".into(),
        body: format!(
            "Hello {},\n\nConfirm this address by opening {link_base}?token={token}\n(or paste this code into the app: \
             {token}).\nThe link works once, for two days. If you did not sign up to Pitch In, ignore this message: \
             the account will be removed.\n",
            account.display_name
        ),
    });
}
