//! Partner API keys: issued with scopes (the matches scope only with an organisation), known only by their hash,
//! refused once revoked, and every issue and revocation in the audit log.
use domain::api_keys::ApiKeyScope;
use domain::api_keys::service::{self, NewApiKey};
use domain::audit::{Actor, AuditAction, AuditFilter};
use domain::error::AppError;
use domain::store::page::Page;

use crate::helpers::TestDb;

fn listings_key() -> NewApiKey {
    NewApiKey {
        name: "Bristol Volunteer Centre website".into(),
        scopes: vec![ApiKeyScope::ReadPublicListings],
        organisation_id: None,
        rate_limit_per_minute: None,
    }
}

#[tokio::test]
async fn a_key_works_until_it_is_revoked_and_the_log_says_who_did_what() {
    let t = TestDb::new().await;
    let admin = t.person("Admin").await;
    let by = Actor::user(admin.id);
    let matches_without_org = NewApiKey { scopes: vec![ApiKeyScope::ReadOrganisationMatches], ..listings_key() };
    let refused = service::issue(&t.db, by, matches_without_org).await;
    assert!(matches!(refused, Err(AppError::BadInput { ref field, .. }) if field == "input.organisationId"));

    let (row, key) = service::issue(&t.db, by, listings_key()).await.expect("issued");
    assert!(!row.key_hash.contains(&key) && key.starts_with(&row.key_prefix), "only a hash and a prefix are kept");
    let caller = service::authenticate(&t.db, &key).await.expect("the key works");
    assert_eq!((caller.id, caller.scopes.clone()), (row.id, vec![ApiKeyScope::ReadPublicListings]));
    assert!(service::authenticate(&t.db, "pk_not-a-key").await.is_err());

    service::revoke(&t.db, by, row.id).await.expect("revoked");
    assert!(matches!(service::authenticate(&t.db, &key).await, Err(AppError::Unauthenticated(_))));

    let (log, _) = domain::audit::list(
        &t.db,
        &AuditFilter { actor_user_id: Some(admin.id), ..AuditFilter::default() },
        &Page::first(10),
    )
    .await
    .expect("the log");
    let actions: Vec<_> = log.rows.iter().map(|(_, e)| AuditAction::from_db(&e.action)).collect();
    assert_eq!(actions, vec![Some(AuditAction::KeyRevoked), Some(AuditAction::KeyIssued)], "newest first");
}
