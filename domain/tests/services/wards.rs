//! Wards from a CSV: all or none, every bad line named (its own faults and the organisations it names), and a ward
//! imported again is updated in place.
use domain::organisations::OrganisationKind;
use domain::organisations::service as organisations;
use domain::wards::import::import_csv;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::helpers::{TestDb, new_organisation};

async fn organisation(t: &TestDb, name: &str, kind: OrganisationKind) -> String {
    let founder = t.person("Officer").await;
    organisations::create(&t.db, &founder, new_organisation(name, kind)).await.expect("created").slug
}

#[tokio::test]
async fn a_ward_file_imports_whole_or_not_at_all() {
    let t = TestDb::new().await;
    let council = organisation(&t, "Mid Suffolk District Council", OrganisationKind::Council).await;
    let group = organisation(&t, "Stowmarket Youth Club", OrganisationKind::CommunityGroup).await;
    let file = format!(
        "name,gss_code,council,partnership\nStowmarket Central,E05099911,{council},\nOnehouse,E05099912,{council},{group}\n"
    );
    let refused = import_csv(&t.db, file.as_bytes()).await.expect("read").expect_err("a partnership of the wrong kind");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].line, 3);
    assert!(refused[0].message.contains("COMMUNITY_PARTNERSHIP"), "{refused:?}");
    assert_eq!(entity::ward::Entity::find().count(&t.db).await.expect("counted"), 0, "nothing half-imported");

    let file = file.replace(&format!(",{group}\n"), ",\n");
    let done = import_csv(&t.db, file.as_bytes()).await.expect("read").expect("imported");
    assert_eq!((done.created, done.updated), (2, 0));
    let renamed = file.replace("Onehouse", "Onehouse and Combs");
    let done = import_csv(&t.db, renamed.as_bytes()).await.expect("read").expect("imported");
    assert_eq!((done.created, done.updated), (0, 2));
    let names: Vec<String> =
        entity::ward::Entity::find().all(&t.db).await.expect("read").into_iter().map(|w| w.name).collect();
    assert!(names.contains(&"Onehouse and Combs".to_owned()) && names.len() == 2, "{names:?}");
}
