//! Accounts: registering, signing in, and a password change ending every session.
use domain::error::AppError;
use domain::users::service::{self, NewAccount};
use domain::users::sessions;

use crate::helpers::TestDb;

fn amara() -> NewAccount {
    NewAccount {
        email: "Amara@Example.org".into(),
        password: "a long enough passphrase".into(),
        display_name: "Amara".into(),
    }
}

#[tokio::test]
async fn one_account_per_address_and_sign_in_checks_the_password() {
    let t = TestDb::new().await;
    let user =
        service::prepare_registration(&t.db, amara()).await.expect("checked").insert(&t.db).await.expect("written");
    assert_eq!(user.email, "amara@example.org");
    assert!(user.email_verified_at.is_none(), "registered accounts start unverified");
    let again = service::prepare_registration(&t.db, NewAccount { email: "amara@example.org".into(), ..amara() }).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{:?}", again.err());
    let signed_in = service::login(&t.db, "AMARA@example.org", "a long enough passphrase".into()).await.expect("in");
    assert_eq!(signed_in.id, user.id);
    let wrong = service::login(&t.db, "amara@example.org", "not the passphrase".into()).await;
    assert!(matches!(wrong, Err(AppError::Unauthenticated(_))), "{wrong:?}");
    let unknown = service::login(&t.db, "nobody@example.org", "a long enough passphrase".into()).await;
    assert!(matches!(unknown, Err(AppError::Unauthenticated(_))), "the same answer for an unknown address");
    let weak = service::prepare_registration(
        &t.db,
        NewAccount { email: "b@example.org".into(), password: "short".into(), ..amara() },
    )
    .await;
    assert!(matches!(weak, Err(AppError::BadInput { ref field, .. }) if field == "password"), "{:?}", weak.err());
}

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let t = TestDb::new().await;
    let user =
        service::prepare_registration(&t.db, amara()).await.expect("checked").insert(&t.db).await.expect("written");
    let actor = service::auth_user(&user);
    let phone = sessions::start(&t.db, user.id).await.expect("a session");
    let wrong = service::change_password(&t.db, &actor, "not it".into(), "another long passphrase").await;
    assert!(matches!(wrong, Err(AppError::Unauthenticated(_))), "{wrong:?}");
    service::change_password(&t.db, &actor, "a long enough passphrase".into(), "another long passphrase")
        .await
        .expect("changed");
    assert!(sessions::rotate(&t.db, &phone.token).await.is_err(), "the old session's refresh token is dead");
    service::login(&t.db, "amara@example.org", "another long passphrase".into()).await.expect("the new one works");
}

#[tokio::test]
async fn a_verification_code_works_once() {
    let t = TestDb::new().await;
    let user =
        service::prepare_registration(&t.db, amara()).await.expect("checked").insert(&t.db).await.expect("written");
    let code = domain::users::verification::issue(&t.db, &user).await.expect("a code");
    let wrong = domain::users::verification::confirm(&t.db, "not-the-code").await;
    assert!(matches!(wrong, Err(AppError::BadInput { .. })), "{wrong:?}");
    let at = domain::users::verification::confirm(&t.db, &format!(" {code} ")).await.expect("verified");
    let again = domain::users::verification::confirm(&t.db, &code).await;
    assert!(matches!(again, Err(AppError::BadInput { .. })), "a code works once: {again:?}");
    let found = service::login(&t.db, "amara@example.org", "a long enough passphrase".into()).await.expect("in");
    assert_eq!(found.email_verified_at, Some(at));
}
