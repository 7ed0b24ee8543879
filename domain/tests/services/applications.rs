//! Applications through their one lifecycle: apply, accept (taking a place), withdraw (giving it back), apply again
//! (the same row), and the denials.
use domain::applications::ApplicationStatus;
use domain::applications::service::{self as applications, Opening};
use domain::error::AppError;
use domain::needs::service as needs;
use domain::needs::{NeedCategory, NeedId, NeedStatus};
use domain::volunteers::DbsLevel;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use crate::helpers::{TestDb, remote_need};

/// A profile written straight to its table, as data from before a service existed would be.
pub async fn volunteer_profile(t: &TestDb, user: &domain::access::AuthUser) -> Uuid {
    let now = domain::now();
    let id = Uuid::now_v7();
    entity::volunteer_profile::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        display_name: Set("Kwame".into()),
        bio: Set(String::new()),
        skills: Set(serde_json::json!([])),
        interests: Set(serde_json::json!([])),
        languages: Set(serde_json::json!([])),
        postcode: Set(None),
        lat: Set(None),
        lng: Set(None),
        travel_radius_km: Set(10.0),
        availability: Set(serde_json::json!([])),
        availability_mask: Set(0),
        dbs_level: Set(DbsLevel::None.as_db().into()),
        dbs_issued_on: Set(None),
        dbs_recheck_by: Set(None),
        dbs_update_service: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(&t.db)
    .await
    .expect("a profile");
    id
}

fn status(a: &entity::application::Model) -> Option<ApplicationStatus> {
    ApplicationStatus::from_db(&a.status)
}

#[tokio::test]
async fn one_lifecycle_from_applying_to_applying_again() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let volunteer = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Befriending calls", NeedCategory::Befriending, 1))
        .await
        .expect("created");
    // No profile, no application; a draft is not there to apply to.
    let no_profile = applications::apply(&t.db, &volunteer, need.id, "").await;
    assert!(matches!(no_profile, Err(AppError::Forbidden(_))), "{no_profile:?}");
    volunteer_profile(&t, &volunteer).await;
    assert!(matches!(applications::apply(&t.db, &volunteer, need.id, "").await, Err(AppError::NotFound(_))));
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");

    let (applied, _) =
        applications::apply(&t.db, &volunteer, need.id, "I can call on Tuesdays").await.expect("applied");
    assert_eq!(status(&applied), Some(ApplicationStatus::Applied));
    assert!(matches!(applications::apply(&t.db, &volunteer, need.id, "").await, Err(AppError::Conflict(_))));
    // Only the need's organisation decides.
    assert!(matches!(applications::accept(&t.db, &volunteer, applied.id).await, Err(AppError::Forbidden(_))));
    let (accepted, full) = applications::accept(&t.db, &coordinator, applied.id).await.expect("accepted");
    assert_eq!(status(&accepted), Some(ApplicationStatus::Accepted));
    assert_eq!((full.places_taken, NeedStatus::from_db(&full.status)), (1, Some(NeedStatus::Filled)));

    let (withdrawn, reopened) = applications::withdraw(&t.db, &volunteer, applied.id).await.expect("withdrawn");
    assert_eq!(status(&withdrawn), Some(ApplicationStatus::Withdrawn));
    assert_eq!((reopened.places_taken, NeedStatus::from_db(&reopened.status)), (0, Some(NeedStatus::Open)));
    let (again, _) = applications::apply(&t.db, &volunteer, need.id, "Back again").await.expect("applied again");
    assert_eq!(
        (again.id, status(&again), again.message.as_str()),
        (applied.id, Some(ApplicationStatus::Applied), "Back again")
    );
}

#[tokio::test]
async fn reopening_a_row_that_changed_meanwhile_is_a_conflict() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let volunteer = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    let profile = volunteer_profile(&t, &volunteer).await;
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Pavilion repaint", NeedCategory::Premises, 2))
        .await
        .expect("created");
    let invited = applications::open(&t.db, None, need.id, profile, Opening::Invited).await.expect("invited");
    assert_eq!(status(&invited), Some(ApplicationStatus::Invited));
    assert!(invited.invited_at.is_some() && invited.applied_at.is_none());
    // A stale copy (read as INVITED, since ended) cannot be reopened over the change.
    let mut stale = invited.clone();
    stale.status = ApplicationStatus::Declined.as_db().into();
    let refused = applications::open(&t.db, Some(&stale), need.id, profile, Opening::Invited).await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
}

/// An offer from the waitlist cannot be accepted once its time is up, even before the sweep lapses it; the
/// organisation's own invitations have no such deadline.
#[tokio::test]
async fn a_lapsed_offer_from_the_waitlist_cannot_be_accepted() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Befriending calls", NeedCategory::Befriending, 1))
        .await
        .expect("created");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let (first, waiting) = (t.person("Kwame").await, t.person("Lola").await);
    volunteer_profile(&t, &first).await;
    volunteer_profile(&t, &waiting).await;
    let (held, _) = applications::apply(&t.db, &first, need.id, "").await.expect("applied");
    applications::accept(&t.db, &coordinator, held.id).await.expect("accepted");
    let (line, _) = applications::apply(&t.db, &waiting, need.id, "").await.expect("waitlisted");
    assert_eq!(status(&line), Some(ApplicationStatus::Waitlisted));
    applications::withdraw(&t.db, &first, held.id).await.expect("withdrawn");
    let offered = applications::get(&t.db, line.id).await.expect("the offer");
    assert_eq!(status(&offered), Some(ApplicationStatus::Invited));

    let respond = |offer_for| domain::matching::plans::respond(&t.db, &waiting, line.id, true, offer_for);
    assert!(matches!(respond(chrono::TimeDelta::zero()).await, Err(AppError::Conflict(_))), "its time is up");
    let (accepted, _) = respond(chrono::TimeDelta::hours(48)).await.expect("within its time");
    assert_eq!(status(&accepted), Some(ApplicationStatus::Accepted));
}
