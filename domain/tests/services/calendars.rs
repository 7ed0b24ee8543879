//! Volunteers' calendar feeds: every profile has one, from its migration or its making; rotating replaces its id
//! and erasure removes it, so that an old address opens nothing.
use domain::volunteers::{calendar, service as volunteers};
use migration::MigratorTrait;

use crate::helpers::TestDb;

fn is_token_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test]
async fn profiles_from_before_feeds_get_one_each_from_the_migration() {
    let before = migration::Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("create_calendar_feeds"))
        .expect("the calendar feeds' migration");
    let t = TestDb::migrated(Some(u32::try_from(before).expect("a count"))).await;
    let (kwame, amira) = (t.person("Kwame").await, t.person("Amira").await);
    let first = crate::applications::volunteer_profile(&t, &kwame).await;
    let second = crate::applications::volunteer_profile(&t, &amira).await;
    migration::Migrator::up(&t.db, None).await.expect("the calendar feeds' migration");
    let ids =
        [calendar::token_id(&t.db, first).await.expect("read"), calendar::token_id(&t.db, second).await.expect("read")];
    let [Some(a), Some(b)] = ids else { panic!("each profile has a feed: {ids:?}") };
    assert!(is_token_id(&a) && is_token_id(&b), "{a} {b}");
    assert_ne!(a, b);
    assert_eq!(calendar::volunteer_of(&t.db, &a).await.expect("read"), Some(first));
}

#[tokio::test]
async fn a_new_profile_has_a_feed_and_rotating_replaces_its_id() {
    let t = TestDb::new().await;
    let amira = t.person("Amira").await;
    let profile = volunteers::upsert(&t.db, &amira, crate::offers::profile()).await.expect("a profile");
    let old = calendar::token_id(&t.db, profile.id).await.expect("read").expect("made with the profile");
    // Replacing the profile keeps its feed.
    volunteers::upsert(&t.db, &amira, crate::offers::profile()).await.expect("replaced");
    assert_eq!(calendar::token_id(&t.db, profile.id).await.expect("read").as_deref(), Some(old.as_str()));

    let (rotated, new) = calendar::rotate(&t.db, &amira).await.expect("rotated");
    assert_eq!(rotated.id, profile.id);
    assert!(is_token_id(&new) && new != old);
    assert_eq!(calendar::volunteer_of(&t.db, &old).await.expect("read"), None, "the old id opens nothing");
    assert_eq!(calendar::volunteer_of(&t.db, &new).await.expect("read"), Some(profile.id));

    // Someone without a profile has no feed to rotate.
    let organiser = t.person("Organiser").await;
    assert!(matches!(calendar::rotate(&t.db, &organiser).await, Err(domain::AppError::Forbidden(_))));
}
