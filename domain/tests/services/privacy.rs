//! Erasure: refused while the account is an organisation's only owner; otherwise the person is gone, their live
//! applications withdrawn (places given back) and their history kept anonymous.
use domain::applications::ApplicationStatus;
use domain::applications::service as applications;
use domain::audit::Actor;
use domain::error::AppError;
use domain::needs::NeedCategory;
use domain::needs::NeedId;
use domain::needs::service as needs;
use domain::volunteers::service as volunteers;

use crate::helpers::{TestDb, remote_need};
use crate::offers::profile;

#[tokio::test]
async fn erasing_keeps_history_and_frees_places_but_never_orphans_an_organisation() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let volunteer = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    volunteers::upsert(&t.db, &volunteer, profile()).await.expect("a profile");
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Befriending calls", NeedCategory::Befriending, 1))
        .await
        .expect("created");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let (application, _) = applications::apply(&t.db, &volunteer, need.id, "Tuesdays").await.expect("applied");
    applications::accept(&t.db, &coordinator, application.id).await.expect("accepted");

    let erased = domain::privacy::erase(&t.db, volunteer.id, Actor::user(volunteer.id), "test").await.expect("erased");
    assert_eq!((erased.applications_kept, erased.applications_withdrawn), (1, 1));
    let kept = applications::get(&t.db, application.id).await.expect("the application stays");
    assert_eq!(ApplicationStatus::from_db(&kept.status), Some(ApplicationStatus::Withdrawn));
    assert_eq!(kept.message, "", "its message is erased");
    assert_eq!(needs::get(&t.db, need.id).await.expect("read").places_taken, 0, "the place is given back");
    assert!(
        domain::volunteers::find_for_user(&t.db, volunteer.id)
            .await
            .expect("read")
            .is_some_and(|p| p.display_name != "Kwame")
    );

    // The coordinator is a member, not an owner, in this helper's organisation: give it an owner to protect.
    let founder = t.person("Bea").await;
    let owned = domain::organisations::service::create(
        &t.db,
        &founder,
        crate::helpers::new_organisation("Village Hall", domain::organisations::OrganisationKind::CommunityGroup),
    )
    .await
    .expect("created");
    let refused = domain::privacy::erase(&t.db, founder.id, Actor::user(founder.id), "test").await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "the only owner of {}: {refused:?}", owned.name);
}
