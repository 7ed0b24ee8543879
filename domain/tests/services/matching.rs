//! Matching's plans through the service: propose pairs a need with the volunteers who fit it, confirm turns them
//! into invitations that hold places (through the applications' one constructor), respond accepts or declines.
use domain::applications::ApplicationStatus;
use domain::error::AppError;
use domain::matching::index::MatchingIndex;
use domain::matching::plans::{self, PlanScope};
use domain::needs::service as needs;
use domain::needs::{NeedCategory, NeedId, NeedStatus};
use domain::volunteers::service as volunteers;

use crate::helpers::{TestDb, remote_need};
use crate::offers::profile;

#[tokio::test]
async fn proposals_become_invitations_that_hold_places() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let outsider = t.person("Sam").await;
    let volunteer = t.person("Kwame").await;
    let org = t.organisation(&coordinator).await;
    let mine = volunteers::upsert(&t.db, &volunteer, profile()).await.expect("a profile");
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Befriending calls", NeedCategory::Befriending, 1))
        .await
        .expect("created");
    needs::publish(&t.db, &coordinator, NeedId(need.id)).await.expect("published");
    let index = MatchingIndex::new();
    index.refresh(&t.db).await.expect("the index loads");

    let refused = plans::propose(&t.db, &index, &outsider, PlanScope::Organisation(org.0), 1).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "only members plan: {:?}", refused.err());
    let plan = plans::propose(&t.db, &index, &coordinator, PlanScope::Organisation(org.0), 1).await.expect("a plan");
    let pairs: Vec<_> = plan.proposals.iter().map(|p| (p.need.id, p.volunteer.id)).collect();
    assert_eq!(pairs, vec![(need.id, mine.id)]);

    let invited = plans::confirm(&t.db, &coordinator, &pairs).await.expect("confirmed");
    assert_eq!(ApplicationStatus::from_db(&invited[0].status), Some(ApplicationStatus::Invited));
    let held = needs::get(&t.db, need.id).await.expect("read");
    assert_eq!(
        (held.places_taken, NeedStatus::from_db(&held.status)),
        (1, Some(NeedStatus::Filled)),
        "the place is held"
    );
    assert!(matches!(plans::confirm(&t.db, &coordinator, &pairs).await, Err(AppError::Conflict(_))), "not twice");

    let not_theirs = plans::respond(&t.db, &outsider, invited[0].id, true, chrono::TimeDelta::hours(48)).await;
    assert!(matches!(not_theirs, Err(AppError::Forbidden(_))), "only the invited volunteer answers");
    let (declined, freed) =
        plans::respond(&t.db, &volunteer, invited[0].id, false, chrono::TimeDelta::hours(48)).await.expect("declined");
    assert_eq!(ApplicationStatus::from_db(&declined.status), Some(ApplicationStatus::Declined));
    assert_eq!((freed.places_taken, NeedStatus::from_db(&freed.status)), (0, Some(NeedStatus::Open)), "and given back");
}
