//! Erasure and retention: `deleteMyAccount` removes a person's data and keeps organisations' histories whole;
//! accounts never verified are erased by the retention rule; email verification works once.
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const DELETE: &str = "mutation($password: String!) { deleteMyAccount(input: {password: $password}) { erasedAt applicationsKept applicationsWithdrawn } }";
const PASSWORD: &str = "a long enough passphrase";
const NEED_APPLICATIONS: &str = "query($id: ID!) { node(id: $id) { ... on Need { placesTaken applications(first: 10) { totalCount edges { node { status message volunteer { displayName bio skills } } } } } } }";

fn user_uuid(global_id: &str) -> uuid::Uuid {
    match api::kit::ids::decode_any(global_id) {
        Some((api::kit::ids::NodeKind::User, id)) => id,
        other => panic!("not a user id: {other:?}"),
    }
}

#[tokio::test]
async fn deleting_an_account_erases_the_person_and_keeps_the_organisations_history() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.register("owner@erase.example", "Owner").await;
    let org = app.organisation(&owner, "Erase Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    let pending = app.open_need(&owner, &org, "Homework club", json!({})).await;
    let other_need = app.open_need(&owner, &org, "Conversation club", json!({})).await;
    let (amira, _) = app.volunteer("amira@erase.example", "Amira", json!({"bio": "Teacher in Putney"})).await;
    // One application done (completed), one under way (accepted, holding a place).
    let done = app.apply(&amira, &need).await;
    let under_way = app.apply(&amira, &pending).await;
    for (mutation, id) in
        [("acceptApplication", &done), ("completeApplication", &done), ("acceptApplication", &under_way)]
    {
        let resp = app
            .gql_as(
                Some(&owner.token),
                &format!(
                    "mutation($id: ID!) {{ {mutation}(input: {{applicationId: $id}}) {{ application {{ status }} }} }}"
                ),
                json!({ "id": id }),
            )
            .await;
        data(&resp);
    }
    let matches = "query($id: ID!) { matchesForNeed(needId: $id, first: 10) { totalCount } }";
    let before = data(&app.gql_as(Some(&owner.token), matches, json!({ "id": other_need })).await)["matchesForNeed"]
        ["totalCount"]
        .as_i64();
    assert_eq!(before, Some(1), "she matches the need she has not applied to");

    // A wrong password changes nothing.
    let resp = app.gql_as(Some(&amira.token), DELETE, json!({ "password": "not the password at all" })).await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");
    assert!(data(&app.gql_as(Some(&amira.token), "{ me { email } }", json!({})).await)["me"]["email"].is_string());

    let resp = app.gql_as(Some(&amira.token), DELETE, json!({ "password": PASSWORD })).await;
    let erased = &data(&resp)["deleteMyAccount"];
    assert_eq!((erased["applicationsKept"].as_i64(), erased["applicationsWithdrawn"].as_i64()), (Some(2), Some(1)));

    // Her token, her sessions and her sign-in are gone.
    assert_eq!(error_code(&app.gql_as(Some(&amira.token), "{ me { email } }", json!({})).await), "UNAUTHENTICATED");
    let login = app
        .gql(
            "mutation($p: String!) { login(input: {email: \"amira@erase.example\", password: $p}) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED");

    // The organisation still counts her completed work, from someone with no name, words or skills.
    let resp = app.gql_as(Some(&owner.token), NEED_APPLICATIONS, json!({ "id": need })).await;
    let node = &data(&resp)["node"];
    assert_eq!(node["applications"]["totalCount"], 1);
    let kept = &node["applications"]["edges"][0]["node"];
    assert_eq!(kept["status"], "COMPLETED");
    assert_eq!(kept["message"], "");
    assert_eq!(kept["volunteer"]["displayName"], "Deleted volunteer");
    assert_eq!(kept["volunteer"]["bio"], "");
    assert_eq!(kept["volunteer"]["skills"], json!([]));
    let email = "query($id: ID!) { node(id: $id) { ... on Need { applications(first: 1) { edges { node { volunteer { email } } } } } } }";
    let resp = app.gql_as(Some(&owner.token), email, json!({ "id": need })).await;
    assert_eq!(error_code(&resp), "NOT_FOUND");
    assert!(!resp.to_string().contains("amira@erase.example"));
    // The application under way is withdrawn, and its place given back.
    let resp = app.gql_as(Some(&owner.token), NEED_APPLICATIONS, json!({ "id": pending })).await;
    let node = &data(&resp)["node"];
    assert_eq!(node["placesTaken"], 0);
    assert_eq!(node["applications"]["edges"][0]["node"]["status"], "WITHDRAWN");

    // Nothing of her is left in the database but the tombstones' ids.
    let account = entity::user::Entity::find_by_id(user_uuid(&amira.user_id)).one(&app.db).await.expect("read");
    let account = account.expect("the tombstone stays");
    assert!(account.deleted_at.is_some());
    assert!(!account.email.contains("amira") && account.display_name == "Deleted user");
    let profiles = entity::volunteer_profile::Entity::find().all(&app.db).await.expect("profiles");
    assert!(!format!("{profiles:?}").contains("Putney"), "the bio is gone");
    assert!(!format!("{profiles:?}").contains("SW15"), "the postcode is gone");

    // Matching no longer offers her, and the audit log shows the erasure.
    let after = data(&app.gql_as(Some(&owner.token), matches, json!({ "id": other_need })).await)["matchesForNeed"]
        ["totalCount"]
        .as_i64();
    assert_eq!(after, Some(0), "she is no longer offered");
    let log = app
        .gql_as(
            Some(&admin.token),
            "query($id: ID!) { auditEvents(filter: {subjectId: $id, action: ERASED}) { edges { node { action detail } } } }",
            json!({ "id": amira.user_id }),
        )
        .await;
    assert_eq!(data(&log)["auditEvents"]["edges"][0]["node"]["detail"], "deleted by the account holder");

    // An owner with nobody to hand over to is refused, whole.
    let resp = app.gql_as(Some(&owner.token), DELETE, json!({ "password": PASSWORD })).await;
    assert_eq!(error_code(&resp), "CONFLICT");
    assert!(data(&app.gql_as(Some(&owner.token), "{ me { email } }", json!({})).await)["me"]["email"].is_string());
}

#[tokio::test]
async fn an_email_is_verified_once_with_the_mailed_code() {
    let app = TestApp::spawn().await;
    let nadia = app.register("nadia@verify.example", "Nadia").await;
    let me = "{ me { emailVerifiedAt } }";
    assert_eq!(data(&app.gql_as(Some(&nadia.token), me, json!({})).await)["me"]["emailVerifiedAt"], Value::Null);
    app.deliver_mail().await;
    let code = app.mail.verification_code("nadia@verify.example").expect("a verification mail on registering");

    let verify = "mutation($t: String!) { verifyEmail(input: {token: $t}) { emailVerifiedAt } }";
    let resp = app.gql(verify, json!({ "t": "not-the-code" })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let resp = app.gql(verify, json!({ "t": code })).await;
    assert!(data(&resp)["verifyEmail"]["emailVerifiedAt"].is_string());
    assert_eq!(error_code(&app.gql(verify, json!({ "t": code })).await), "BAD_USER_INPUT", "a code works once");
    assert!(data(&app.gql_as(Some(&nadia.token), me, json!({})).await)["me"]["emailVerifiedAt"].is_string());

    let again = "mutation { requestEmailVerification { sent } }";
    assert_eq!(
        data(&app.gql_as(Some(&nadia.token), again, json!({})).await)["requestEmailVerification"]["sent"],
        false
    );
    assert_eq!(error_code(&app.gql(again, json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_retention_rule_erases_accounts_never_verified_and_keeps_the_rest() {
    let app = TestApp::spawn().await;
    let stale = app.register("stale@retention.example", "Stale").await;
    let verified = app.register("verified@retention.example", "Verified").await;
    let recent = app.register("recent@retention.example", "Recent").await;
    app.deliver_mail().await;
    let code = app.mail.verification_code("verified@retention.example").expect("mail");
    let resp = app
        .gql("mutation($t: String!) { verifyEmail(input: {token: $t}) { emailVerifiedAt } }", json!({ "t": code }))
        .await;
    data(&resp);
    // Forty days pass for two of them.
    for session in [&stale, &verified] {
        let account = entity::user::Entity::find_by_id(user_uuid(&session.user_id))
            .one(&app.db)
            .await
            .expect("read")
            .expect("account");
        let mut active: entity::user::ActiveModel = account.into();
        active.created_at = Set(Utc::now() - Duration::days(40));
        active.update(&app.db).await.expect("backdate");
    }

    let erased = api::privacy::erase_stale_unverified(&app.db, chrono::TimeDelta::days(30)).await.expect("retention");
    assert_eq!(erased, 1);
    let me = "{ me { displayName } }";
    assert_eq!(error_code(&app.gql_as(Some(&stale.token), me, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(data(&app.gql_as(Some(&verified.token), me, json!({})).await)["me"]["displayName"], "Verified");
    assert_eq!(data(&app.gql_as(Some(&recent.token), me, json!({})).await)["me"]["displayName"], "Recent");
    let again = api::privacy::erase_stale_unverified(&app.db, chrono::TimeDelta::days(30)).await.expect("retention");
    assert_eq!(again, 0, "nothing left to erase");
}

/// Two co-owners erasing their accounts at the same moment: one goes, the other is refused as the only owner left,
/// and the organisation keeps an owner.
#[tokio::test]
async fn co_owners_erasing_at_once_leave_the_organisation_an_owner() {
    let app = TestApp::spawn().await;
    for round in 0..3 {
        let first = app.register(&format!("first{round}@owners.example"), "First").await;
        let second = app.register(&format!("second{round}@owners.example"), "Second").await;
        let org = app.organisation(&first, &format!("Owners Club {round}")).await;
        let add = "mutation($org: ID!, $email: String!) { addOrganisationMember(input: {organisationId: $org, email: $email, role: OWNER}) { membership { role } } }";
        let email = format!("second{round}@owners.example");
        let resp = app.gql_as(Some(&first.token), add, json!({ "org": org, "email": email })).await;
        assert_eq!(data(&resp)["addOrganisationMember"]["membership"]["role"], "OWNER");

        let (a, b) = tokio::join!(
            app.gql_as(Some(&first.token), DELETE, json!({ "password": PASSWORD })),
            app.gql_as(Some(&second.token), DELETE, json!({ "password": PASSWORD })),
        );
        let erased = [&a, &b].iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(erased, 1, "exactly one of the two goes: {a} {b}");
        let refused = if a.get("errors").is_some() { &a } else { &b };
        // SQLite lets one writer through at a time: the other may instead be told to try again.
        assert!(["CONFLICT", "SERVICE_UNAVAILABLE"].contains(&error_code(refused).as_str()), "{refused}");
        let members = "query($id: ID!) { organisation(id: $id) { members(first: 10) { edges { node { role } } } } }";
        let left = if a.get("errors").is_some() { &first } else { &second };
        let resp = app.gql_as(Some(&left.token), members, json!({ "id": org })).await;
        let roles: Vec<String> = data(&resp)["organisation"]["members"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["role"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(roles, vec!["OWNER"], "the organisation keeps its owner");
    }
}
