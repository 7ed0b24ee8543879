//! Email verification's mail: a code `domain::users::verification` issues, written to the notifications outbox in
//! the caller's transaction, and mailed from there (`notifications::sender`), never from inside the request.
use entity::user;

pub use domain::users::verification::{confirm, issue};

/// Makes a new code for the account's address and queues it to be mailed. Earlier codes stay valid until they
/// expire.
pub async fn send(db: &impl sea_orm::ConnectionTrait, account: &user::Model) -> crate::error::AppResult<()> {
    let code = issue(db, account).await?;
    domain::notifications::events::verification_code(db, account.id, code).await?;
    Ok(())
}
