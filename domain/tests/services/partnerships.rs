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
