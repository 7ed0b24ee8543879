//! Community partnerships: tied to a council only by someone who manages both; seats only by the partnership's or
//! the council's owners and admins; a ward member sits for one of the partnership's own wards.
use domain::access::AuthUser;
use domain::error::AppError;
use domain::organisations::OrganisationKind;
use domain::organisations::service as organisations;
use domain::partnerships::PartnershipRole;
use domain::partnerships::service::{self as partnerships, NewPartnershipMember};
use sea_orm::EntityTrait;

use crate::helpers::{TestDb, new_organisation};

async fn email_of(t: &TestDb, user: &AuthUser) -> String {
    entity::user::Entity::find_by_id(user.id).one(&t.db).await.expect("read").expect("a user").email
}

#[tokio::test]
async fn seats_are_for_the_partnerships_and_councils_managers_and_wards_for_ward_members() {
    let t = TestDb::new().await;
    let officer = t.person("Officer").await;
    let council =
        organisations::create(&t.db, &officer, new_organisation("Waveney Council", OrganisationKind::Council))
            .await
            .expect("a council");
    let partnership = organisations::create(
        &t.db,
        &officer,
        new_organisation("Lowestoft and Northern Parishes", OrganisationKind::CommunityPartnership),
    )
    .await
    .expect("a partnership");
    let outsider = t.person("Outsider").await;
    let refused = partnerships::set_council(&t.db, &outsider, partnership.id, council.id).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    let not_a_council = partnerships::set_council(&t.db, &officer, partnership.id, partnership.id).await;
    assert!(matches!(not_a_council, Err(AppError::BadInput { .. })), "{not_a_council:?}");
    let tied = partnerships::set_council(&t.db, &officer, partnership.id, council.id).await.expect("tied");
    assert_eq!(tied.council_id, Some(council.id));
    assert!(
        matches!(partnerships::get(&t.db, council.id).await, Err(AppError::NotFound(_))),
        "a council is no partnership"
    );

    let councillor = t.person("Councillor").await;
    let seat = |role, ward_id| NewPartnershipMember {
        partnership_id: partnership.id,
        email: String::new(),
        role,
        ward_id,
        organisation_id: None,
        votes: None,
    };
    let email = email_of(&t, &councillor).await;
    let without_ward = partnerships::add_member(
        &t.db,
        &officer,
        NewPartnershipMember { email: email.clone(), ..seat(PartnershipRole::WardMember, None) },
    )
    .await;
    assert!(matches!(without_ward, Err(AppError::BadInput { ref field, .. }) if field == "input.wardId"));
    let by_outsider = partnerships::add_member(
        &t.db,
        &outsider,
        NewPartnershipMember { email: email.clone(), ..seat(PartnershipRole::Police, None) },
    )
    .await;
    assert!(matches!(by_outsider, Err(AppError::Forbidden(_))), "{by_outsider:?}");
    let seated = partnerships::add_member(
        &t.db,
        &officer,
        NewPartnershipMember { email, ..seat(PartnershipRole::Police, None) },
    )
    .await
    .expect("seated");
    assert_eq!((seated.role.as_str(), seated.votes), ("POLICE", 1));
    let members = partnerships::members(&t.db, partnership.id).await.expect("members");
    let balance = domain::partnerships::seat_balance(&partnerships::seats(&members));
    assert_eq!((balance.seats, balance.elected_seats, balance.warning), (1, 0, None));
    let (removed, _) = partnerships::remove_member(&t.db, &officer, seated.id).await.expect("removed");
    assert_eq!(removed.id, seated.id);
    assert!(partnerships::members(&t.db, partnership.id).await.expect("members").is_empty());
}

#[tokio::test]
async fn priorities_are_the_seat_managers_to_record_and_keep_their_evidence() {
    use domain::partnerships::priorities::{self, Evidence, EvidenceKind, NewPriority, PriorityPatch, PriorityStatus};
    use domain::values::FinancialYear;
    let t = TestDb::new().await;
    let officer = t.person("Officer").await;
    let partnership = organisations::create(
        &t.db,
        &officer,
        new_organisation("Framlingham, Wickham Market and Villages", OrganisationKind::CommunityPartnership),
    )
    .await
    .expect("a partnership");
    let new = |agreed_on| NewPriority {
        partnership_id: partnership.id,
        financial_year: FinancialYear::parse("financialYear", "2026-27").expect("a year"),
        title: "Rural transport".into(),
        description: String::new(),
        agreed_on,
        workshop: "Annual workshop".into(),
        evidence: vec![Evidence { kind: EvidenceKind::Consultation, summary: "Bus survey".into(), url: None }],
    };
    let today = domain::now().date_naive();
    let future = priorities::create(&t.db, &officer, new(today + chrono::Days::new(1))).await;
    assert!(matches!(future, Err(AppError::BadInput { ref field, .. }) if field == "input.agreedOn"), "{future:?}");
    let outsider = t.person("Outsider").await;
    assert!(matches!(priorities::create(&t.db, &outsider, new(today)).await, Err(AppError::Forbidden(_))));
    let made = priorities::create(&t.db, &officer, new(today)).await.expect("recorded");
    assert_eq!((made.financial_year.as_str(), made.status.as_str()), ("2026-27", "ACTIVE"));
    assert_eq!(priorities::evidence_of(&made)[0].summary, "Bus survey");
    let patch = PriorityPatch { status: Some(PriorityStatus::Retired), ..PriorityPatch::default() };
    let retired = priorities::update(&t.db, &officer, made.id, patch).await.expect("updated");
    assert_eq!(retired.status, "RETIRED");
}
