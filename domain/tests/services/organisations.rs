//! Organisations: the creator becomes OWNER; who may add members and grant which roles; places patched by one rule.
use domain::error::AppError;
use domain::organisations::service::{self, NewMember, NewOrganisation, OrganisationPatch};
use domain::organisations::{MemberRole, OrganisationKind};
use domain::values::{CharityNumber, CompanyNumber, Coordinates, Patch, Postcode};

use crate::helpers::TestDb;

fn jobs_club() -> NewOrganisation {
    NewOrganisation {
        name: "Roehampton Jobs Club".into(),
        kind: OrganisationKind::CommunityGroup,
        description: String::new(),
        website: Some("https://jobsclub.example.org".into()),
        contact_email: Some(" Hello@JobsClub.example.org ".into()),
        postcode: Some(Postcode::parse("postcode", "SW15 4HR").expect("a postcode")),
        location: Some(Coordinates::new("location", 51.452, -0.245).expect("a place")),
        charity_number: Some(CharityNumber::parse("charityNumber", "1123456").expect("a charity number")),
        company_number: None,
        local_authority_code: None,
    }
}

async fn email_of(t: &TestDb, user: &domain::access::AuthUser) -> String {
    use sea_orm::EntityTrait;
    entity::user::Entity::find_by_id(user.id).one(&t.db).await.expect("read").expect("a user").email
}

#[tokio::test]
async fn the_creator_owns_it_and_slugs_stay_unique() {
    let t = TestDb::new().await;
    let founder = t.person("Amara").await;
    let org = service::create(&t.db, &founder, jobs_club()).await.expect("created");
    assert_eq!(org.slug, "roehampton-jobs-club");
    assert_eq!(org.contact_email.as_deref(), Some("hello@jobsclub.example.org"), "the address is normalised");
    let role = domain::access::member_role(&t.db, &founder, org.id).await.expect("read");
    assert_eq!(role, Some(MemberRole::Owner));
    let second = service::create(&t.db, &founder, jobs_club()).await.expect("created");
    assert_eq!(second.slug, "roehampton-jobs-club-2");
    let bad =
        service::create(&t.db, &founder, NewOrganisation { website: Some("jobsclub".into()), ..jobs_club() }).await;
    assert!(matches!(bad, Err(AppError::BadInput { ref field, .. }) if field == "input.website"), "{bad:?}");
}

#[tokio::test]
async fn members_are_added_by_owners_and_admins_and_owners_only_by_owners() {
    let t = TestDb::new().await;
    let owner = t.person("Amara").await;
    let (admin, coordinator, newcomer) = (t.person("Bea").await, t.person("Cal").await, t.person("Dev").await);
    let org = service::create(&t.db, &owner, jobs_club()).await.expect("created");
    let id = domain::organisations::OrganisationId(org.id);
    let add = |email: String, role| NewMember { email, role };
    service::add_member(&t.db, &owner, id, add(email_of(&t, &admin).await, MemberRole::Admin)).await.expect("added");
    service::add_member(&t.db, &admin, id, add(email_of(&t, &coordinator).await, MemberRole::Coordinator))
        .await
        .expect("an admin adds a coordinator");
    let by_coordinator =
        service::add_member(&t.db, &coordinator, id, add(email_of(&t, &newcomer).await, MemberRole::Coordinator)).await;
    assert!(matches!(by_coordinator, Err(AppError::Forbidden(_))), "{by_coordinator:?}");
    let owner_by_admin =
        service::add_member(&t.db, &admin, id, add(email_of(&t, &newcomer).await, MemberRole::Owner)).await;
    assert!(matches!(owner_by_admin, Err(AppError::Forbidden(_))), "{owner_by_admin:?}");
    let twice = service::add_member(&t.db, &owner, id, add(email_of(&t, &admin).await, MemberRole::Coordinator)).await;
    assert!(matches!(twice, Err(AppError::Conflict(_))), "{twice:?}");
    let nobody =
        service::add_member(&t.db, &owner, id, add("nobody@example.org".into(), MemberRole::Coordinator)).await;
    assert!(matches!(nobody, Err(AppError::NotFound(_))), "{nobody:?}");
}

#[tokio::test]
async fn a_patch_changes_what_it_names_and_verifying_is_for_platform_admins() {
    let t = TestDb::new().await;
    let owner = t.person("Amara").await;
    let org = service::create(&t.db, &owner, jobs_club()).await.expect("created");
    let id = domain::organisations::OrganisationId(org.id);
    let verify = OrganisationPatch { verified: Some(true), ..OrganisationPatch::default() };
    assert!(matches!(service::update(&t.db, &owner, id, verify).await, Err(AppError::Forbidden(_))));
    let moved = OrganisationPatch {
        postcode: Patch::Clear,
        website: Patch::Set("  ".into()),
        name: Some("Roehampton Jobs & Skills Club".into()),
        ..OrganisationPatch::default()
    };
    let changed = service::update(&t.db, &owner, id, moved).await.expect("changed");
    assert_eq!((changed.postcode, changed.website), (None, None), "cleared, and a blank address is none");
    assert!(changed.lat.is_some(), "the location was left as it was");
    assert_eq!(changed.name, "Roehampton Jobs & Skills Club");
    assert_eq!(changed.slug, org.slug, "the slug stays, so links keep working");
}

#[tokio::test]
async fn register_numbers_are_kept_as_the_registers_print_them_and_can_be_cleared() {
    let t = TestDb::new().await;
    let founder = t.person("Ada").await;
    let org = service::create(&t.db, &founder, jobs_club()).await.expect("created");
    assert_eq!((org.charity_number.as_deref(), org.company_number.as_deref()), (Some("1123456"), None));
    let id = domain::organisations::OrganisationId(org.id);
    let registered = OrganisationPatch {
        company_number: Patch::Set(CompanyNumber::parse("companyNumber", "sc 123456").expect("a company number")),
        charity_number: Patch::Clear,
        ..OrganisationPatch::default()
    };
    let org = service::update(&t.db, &founder, id, registered).await.expect("updated");
    assert_eq!((org.charity_number.as_deref(), org.company_number.as_deref()), (None, Some("SC123456")));
    // Someone who only coordinates may not change them.
    let coordinator = t.person("Cy").await;
    let member = NewMember { email: email_of(&t, &coordinator).await, role: MemberRole::Coordinator };
    service::add_member(&t.db, &founder, id, member).await.expect("added");
    let refused = service::update(
        &t.db,
        &coordinator,
        id,
        OrganisationPatch { company_number: Patch::Clear, ..OrganisationPatch::default() },
    )
    .await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
}
