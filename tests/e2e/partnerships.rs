//! Community partnerships: tied to their council by someone who manages both (and moved only by its present
//! council's managers too), seats managed by the partnership's or the council's owners and admins, ward members on
//! the partnership's own wards, the seat balance's warning, what strangers see of a seat, seats gone with an erased
//! account, and a council's partnerships listed with their seats and wards in a fixed number of statements.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};
use crate::wards::import;

const CREATE: &str =
    "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id slug } } }";
const TIE: &str = "mutation($p: ID!, $c: ID!) { setPartnershipCouncil(input: {partnershipId: $p, councilId: $c}) { name council { name } } }";
const ADD: &str = "mutation($input: AddPartnershipMemberInput!) { addPartnershipMember(input: $input) { member { id role votes ward { name } displayName } partnership { seatBalance { seats electedSeats votes electedVotes warning } } } }";
const ADD_MEMBER: &str =
    "mutation($input: AddOrganisationMemberInput!) { addOrganisationMember(input: $input) { __typename } }";
const LISTING: &str = "query($c: ID!) { communityPartnerships(councilId: $c) { name council { name } wards { name } members { role votes displayName ward { name } organisation { name } } seatBalance { seats electedSeats warning byRole { role seats votes } } } }";

async fn organisation(app: &TestApp, who: &Session, name: &str, kind: &str) -> (String, String) {
    let resp = app.gql_as(Some(&who.token), CREATE, json!({ "input": { "name": name, "kind": kind } })).await;
    let made = &data(&resp)["createOrganisation"]["organisation"];
    (made["id"].as_str().expect("an id").to_owned(), made["slug"].as_str().expect("a slug").to_owned())
}

/// A council's partnerships, and the statements it took.
async fn listing(app: &TestApp, council: &str) -> (usize, Value) {
    app.reset_statements();
    let resp = app.gql(LISTING, json!({ "c": council })).await;
    (app.statements(), resp)
}

fn member(partnership: &str, email: &str, role: &str, extra: Value) -> Value {
    let mut input = json!({ "partnershipId": partnership, "email": email, "role": role });
    crate::helpers::merge(&mut input, &extra);
    json!({ "input": input })
}

async fn make_admin(app: &TestApp, by: &Session, organisation: &str, email: &str) {
    let input = json!({ "input": { "organisationId": organisation, "email": email, "role": "ADMIN" } });
    data(&app.gql_as(Some(&by.token), ADD_MEMBER, input).await);
}

#[tokio::test]
async fn a_partnership_seats_its_members_and_says_when_elected_members_dominate() {
    let app = TestApp::spawn().await;
    let officer = app.register("officer@eastsuffolk.example", "Council Officer").await;
    let (council, council_slug) = organisation(&app, &officer, "East Suffolk Council", "COUNCIL").await;
    let (peninsula, peninsula_slug) =
        organisation(&app, &officer, "Felixstowe Peninsula", "COMMUNITY_PARTNERSHIP").await;
    let rival = app.register("rival@example.org", "Rival").await;
    let (elsewhere, elsewhere_slug) = organisation(&app, &rival, "Kesgrave Partnership", "COMMUNITY_PARTNERSHIP").await;

    // Tying a partnership to a council takes managing both.
    assert_eq!(
        error_code(&app.gql_as(Some(&rival.token), TIE, json!({ "p": elsewhere, "c": council })).await),
        "FORBIDDEN"
    );
    assert_eq!(error_code(&app.gql(TIE, json!({ "p": peninsula, "c": council })).await), "UNAUTHENTICATED");
    let wrong_kind = app.gql_as(Some(&officer.token), TIE, json!({ "p": peninsula, "c": peninsula })).await;
    assert_eq!(error_code(&wrong_kind), "BAD_USER_INPUT");
    let tied = app.gql_as(Some(&officer.token), TIE, json!({ "p": peninsula, "c": council })).await;
    assert_eq!(data(&tied)["setPartnershipCouncil"]["council"]["name"], "East Suffolk Council");
    make_admin(&app, &officer, &council, "rival@example.org").await;
    data(&app.gql_as(Some(&rival.token), TIE, json!({ "p": elsewhere, "c": council })).await);

    let wards = format!(
        "gss_code,name,council,partnership\nE05099921,Eastern Felixstowe,{council_slug},{peninsula_slug}\n\
         E05099922,Western Felixstowe,{council_slug},{peninsula_slug}\nE05099923,Kesgrave,{council_slug},{elsewhere_slug}\n"
    );
    let (ok, said) = import(&app, &wards);
    assert!(ok, "{said}");
    let ward_ids: Value =
        data(&app.gql("{ wards(first: 10) { edges { node { id name } } } }", json!({})).await)["wards"]["edges"]
            .clone();
    let ward = |name: &str| {
        ward_ids.as_array().expect("wards").iter().find(|e| e["node"]["name"] == name).expect("a ward")["node"]["id"]
            .clone()
    };

    let mut people = Vec::new();
    for (email, name) in [
        ("ann@example.org", "Cllr Ann"),
        ("bob@example.org", "Cllr Bob"),
        ("cat@example.org", "Cllr Cat"),
        ("pc@example.org", "PC Dan"),
        ("yo@example.org", "Youth Rep"),
        ("biz@example.org", "Business Rep"),
    ] {
        people.push((email, app.register(email, name).await));
    }
    let (club, _) = organisation(&app, &people[4].1, "Felixstowe Youth Club", "COMMUNITY_GROUP").await;
    // Denials first: strangers, ward members without their ward (or with another partnership's), wards for
    // others, too many votes, representing an organisation one has nothing to do with, no account, a second seat.
    let stranger = app.register("stranger@example.org", "Stranger").await;
    let stranger_try =
        member(&peninsula, "ann@example.org", "WARD_MEMBER", json!({ "wardId": ward("Eastern Felixstowe") }));
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), ADD, stranger_try).await), "FORBIDDEN");
    for (input, field) in [
        (member(&peninsula, "ann@example.org", "WARD_MEMBER", json!({})), "input.wardId"),
        (member(&peninsula, "ann@example.org", "WARD_MEMBER", json!({ "wardId": ward("Kesgrave") })), "input.wardId"),
        (
            member(&peninsula, "pc@example.org", "POLICE", json!({ "wardId": ward("Eastern Felixstowe") })),
            "input.wardId",
        ),
        (member(&peninsula, "pc@example.org", "POLICE", json!({ "votes": 11 })), "input.votes"),
        (member(&peninsula, "biz@example.org", "BUSINESS", json!({ "organisationId": club })), "input.organisationId"),
    ] {
        let resp = app.gql_as(Some(&officer.token), ADD, input).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field);
    }
    let nobody =
        app.gql_as(Some(&officer.token), ADD, member(&peninsula, "nobody@example.org", "COMMUNITY", json!({}))).await;
    assert_eq!(error_code(&nobody), "NOT_FOUND");

    // Three elected members and the police: elected members hold three seats of four.
    let mut last = Value::Null;
    for (email, role, extra) in [
        ("ann@example.org", "WARD_MEMBER", json!({ "wardId": ward("Eastern Felixstowe") })),
        ("bob@example.org", "WARD_MEMBER", json!({ "wardId": ward("Western Felixstowe") })),
        ("cat@example.org", "COUNTY_COUNCILLOR", json!({})),
        ("pc@example.org", "POLICE", json!({ "votes": 2 })),
    ] {
        last = app.gql_as(Some(&officer.token), ADD, member(&peninsula, email, role, extra)).await;
        data(&last);
    }
    let balance = &data(&last)["addPartnershipMember"]["partnership"]["seatBalance"];
    assert_eq!((balance["seats"].clone(), balance["electedSeats"].clone()), (json!(4), json!(3)));
    assert!(balance["warning"].as_str().is_some_and(|w| w.contains("3 of 4")), "{balance}");
    let twice =
        app.gql_as(Some(&officer.token), ADD, member(&peninsula, "pc@example.org", "COMMUNITY", json!({}))).await;
    assert_eq!(error_code(&twice), "CONFLICT");
    // Youth (for their own club) and business join: half the seats and half the votes are elected, no more.
    for (email, role, extra) in
        [("yo@example.org", "YOUTH", json!({ "organisationId": club })), ("biz@example.org", "BUSINESS", json!({}))]
    {
        last = app.gql_as(Some(&officer.token), ADD, member(&peninsula, email, role, extra)).await;
        data(&last);
    }
    let balance = &data(&last)["addPartnershipMember"]["partnership"]["seatBalance"];
    assert_eq!(
        (balance["votes"].clone(), balance["electedVotes"].clone(), balance["warning"].clone()),
        (json!(7), json!(3), Value::Null)
    );

    // A council's partnerships, with seats and wards, for anyone, in as many statements for two partnerships as
    // for three.
    let (two, resp) = listing(&app, &council).await;
    let listed = &data(&resp)["communityPartnerships"][0];
    assert_eq!(listed["name"], "Felixstowe Peninsula");
    assert_eq!(listed["wards"], json!([{ "name": "Eastern Felixstowe" }, { "name": "Western Felixstowe" }]));
    assert_eq!(
        listed["members"][0],
        json!({ "role": "WARD_MEMBER", "votes": 1, "displayName": "Cllr Ann", "ward": { "name": "Eastern Felixstowe" }, "organisation": null })
    );
    assert_eq!(listed["members"][4]["organisation"]["name"], "Felixstowe Youth Club");
    let roles = listed["seatBalance"]["byRole"].as_array().expect("roles");
    let police = roles.iter().find(|r| r["role"] == "POLICE").expect("police");
    assert_eq!(police, &json!({ "role": "POLICE", "seats": 1, "votes": 2 }));
    let (third, _) = organisation(&app, &officer, "Woodbridge Partnership", "COMMUNITY_PARTNERSHIP").await;
    data(&app.gql_as(Some(&officer.token), TIE, json!({ "p": third, "c": council })).await);
    let (three, resp) = listing(&app, &council).await;
    assert_eq!(data(&resp)["communityPartnerships"].as_array().map(Vec::len), Some(3));
    assert_eq!(two, three, "statements must not grow with the partnerships listed");
    // A seat shows its holder's name; the account behind it is theirs and the platform admins' to see.
    let accounts =
        app.gql(&LISTING.replace("displayName", "displayName user { id email }"), json!({ "c": council })).await;
    assert_eq!(error_code(&accounts), "FORBIDDEN", "{accounts}");
    assert!(!accounts.to_string().contains("ann@example.org"), "{accounts}");

    // Moving a partnership needs its present council's managers too; a partnership or council with wards and
    // seats keeps its kind; a ward members sit for keeps its partnership.
    let mover = app.register("mover@example.org", "Mover").await;
    let (fake, _) = organisation(&app, &mover, "Made Up Council", "COUNCIL").await;
    make_admin(&app, &officer, &peninsula, "mover@example.org").await;
    assert_eq!(
        error_code(&app.gql_as(Some(&mover.token), TIE, json!({ "p": peninsula, "c": fake })).await),
        "FORBIDDEN"
    );
    let rekind = "mutation($id: ID!) { updateOrganisation(input: {organisationId: $id, kind: COMMUNITY_GROUP}) { organisation { kind } } }";
    assert_eq!(error_code(&app.gql_as(Some(&officer.token), rekind, json!({ "id": peninsula })).await), "CONFLICT");
    assert_eq!(error_code(&app.gql_as(Some(&officer.token), rekind, json!({ "id": council })).await), "CONFLICT");
    let moved =
        format!("gss_code,name,council,partnership\nE05099921,Eastern Felixstowe,{council_slug},{elsewhere_slug}\n");
    let (ok, said) = import(&app, &moved);
    assert!(!ok && said.contains("line 2:") && said.contains("ward members sitting for it"), "{said}");

    // Removing a seat: the council's admins may; a member who only coordinates the partnership may not.
    let seat = data(&last)["addPartnershipMember"]["member"]["id"].clone();
    let remove = "mutation($id: ID!) { removePartnershipMember(input: {memberId: $id}) { removedId partnership { seatBalance { seats } } } }";
    let coordinator = app.register("coord@example.org", "Coordinator").await;
    let input =
        json!({ "input": { "organisationId": peninsula, "email": "coord@example.org", "role": "COORDINATOR" } });
    data(&app.gql_as(Some(&officer.token), ADD_MEMBER, input).await);
    assert_eq!(error_code(&app.gql_as(Some(&coordinator.token), remove, json!({ "id": seat })).await), "FORBIDDEN");
    let removed = app.gql_as(Some(&rival.token), remove, json!({ "id": seat })).await;
    assert_eq!(data(&removed)["removePartnershipMember"]["partnership"]["seatBalance"]["seats"], 5);
    assert_eq!(error_code(&app.gql_as(Some(&rival.token), remove, json!({ "id": seat })).await), "NOT_FOUND");

    // A member's seat is in their export, and goes when they erase their account.
    let ann = &people[0].1;
    let export = app.gql_as(Some(&ann.token), "{ exportMyData }", json!({})).await;
    assert_eq!(data(&export)["exportMyData"]["partnershipSeats"][0]["role"], "WARD_MEMBER");
    let erase = "mutation { deleteMyAccount(input: {password: \"a long enough passphrase\"}) { erasedAt } }";
    data(&app.gql_as(Some(&ann.token), erase, json!({})).await);
    let (_, resp) = listing(&app, &council).await;
    let names: Vec<&str> = data(&resp)["communityPartnerships"][0]["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["displayName"].as_str())
        .collect();
    assert_eq!(names, ["Cllr Bob", "Cllr Cat", "PC Dan", "Youth Rep"]);

    // Only partnerships are partnerships.
    let by_slug = "query($s: String!) { communityPartnership(slug: $s) { name } }";
    assert_eq!(
        data(&app.gql(by_slug, json!({ "s": peninsula_slug })).await)["communityPartnership"]["name"],
        "Felixstowe Peninsula"
    );
    assert!(data(&app.gql(by_slug, json!({ "s": council_slug })).await)["communityPartnership"].is_null());
}

const PRIORITY: &str = "mutation($input: CreatePriorityInput!) { createPriority(input: $input) { id title financialYear agreedOn workshop status evidence { kind summary url } } }";

#[tokio::test]
async fn a_partnership_records_its_priorities_with_their_evidence() {
    let app = TestApp::spawn().await;
    let officer = app.register("officer@priorities.example", "Officer").await;
    let (partnership, slug) =
        organisation(&app, &officer, "Aldeburgh, Leiston and Saxmundham", "COMMUNITY_PARTNERSHIP").await;
    let stranger = app.register("stranger@priorities.example", "Stranger").await;
    let input = |extra: Value| {
        let mut input = json!({ "partnershipId": partnership, "financialYear": "2026-27",
            "title": "Loneliness among older residents", "agreedOn": "2026-03-12",
            "workshop": "Annual workshop, Leiston Community Centre",
            "evidence": [{ "kind": "DATA", "summary": "A third of over-75s live alone", "url": "https://example.org/census" },
                         { "kind": "LOCAL_INSIGHT", "summary": "Lunch clubs closed since 2020" }] });
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), PRIORITY, input(json!({}))).await), "FORBIDDEN");
    for (extra, field) in [
        (json!({ "financialYear": "2026-28" }), "input.financialYear"),
        (json!({ "agreedOn": "2999-01-01" }), "input.agreedOn"),
        (json!({ "title": "x" }), "input.title"),
        (
            json!({ "evidence": [{ "kind": "DATA", "summary": "ok", "url": "javascript:alert(1)" }] }),
            "input.evidence[0].url",
        ),
    ] {
        let resp = app.gql_as(Some(&officer.token), PRIORITY, input(extra)).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field);
    }
    let made = app.gql_as(Some(&officer.token), PRIORITY, input(json!({}))).await;
    let priority = &data(&made)["createPriority"];
    assert_eq!(priority["status"], "ACTIVE");
    assert_eq!(
        priority["evidence"][1],
        json!({ "kind": "LOCAL_INSIGHT", "summary": "Lunch clubs closed since 2020", "url": null })
    );
    data(
        &app.gql_as(
            Some(&officer.token),
            PRIORITY,
            input(
                json!({ "financialYear": "2025-26", "title": "Speeding through villages", "agreedOn": "2025-03-10" }),
            ),
        )
        .await,
    );

    // Public, by year, and by id.
    let query = "query($s: String!, $y: String) { communityPartnership(slug: $s) { priorities(financialYear: $y) { title financialYear } } }";
    let this_year = app.gql(query, json!({ "s": slug, "y": "2026-27" })).await;
    assert_eq!(
        data(&this_year)["communityPartnership"]["priorities"],
        json!([{ "title": "Loneliness among older residents", "financialYear": "2026-27" }])
    );
    let every_year = app.gql(query, json!({ "s": slug, "y": null })).await;
    assert_eq!(data(&every_year)["communityPartnership"]["priorities"].as_array().map(Vec::len), Some(2));
    let by_id = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Priority { title partnership { name } } } }",
            json!({ "id": priority["id"] }),
        )
        .await;
    assert_eq!(data(&by_id)["node"]["partnership"]["name"], "Aldeburgh, Leiston and Saxmundham");

    // Met: the partnership says so.
    let update =
        "mutation($input: UpdatePriorityInput!) { updatePriority(input: $input) { status evidence { kind } } }";
    let met = json!({ "input": { "id": priority["id"], "status": "MET", "evidence": [{ "kind": "CONSULTATION", "summary": "Residents' survey, 2027" }] } });
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), update, met.clone()).await), "FORBIDDEN");
    let resp = app.gql_as(Some(&officer.token), update, met).await;
    assert_eq!(data(&resp)["updatePriority"], json!({ "status": "MET", "evidence": [{ "kind": "CONSULTATION" }] }));
}
