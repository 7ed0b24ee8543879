//! Projects: described by an organisation's coordinators, public to read, placed in a ward or across an area,
//! tagged with a partnership's priorities (as needs can be), holding their needs; listed by organisation,
//! partnership, ward, category, priority, status and distance, in a fixed number of statements however many.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};
use crate::wards::import;

const CREATE_ORG: &str =
    "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id slug } } }";
const TIE: &str =
    "mutation($p: ID!, $c: ID!) { setPartnershipCouncil(input: {partnershipId: $p, councilId: $c}) { name } }";
const PRIORITY: &str = "mutation($input: CreatePriorityInput!) { createPriority(input: $input) { id } }";
pub const CREATE: &str = "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id title status areaWide ageRange { min max } ward { name } priorities { title } schedule { weekly { day start end } } organisation { id } } } }";
const UPDATE: &str = "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { id status ward { name } location { lat } priorities { title } ageRange { min max } } } }";
const LIST: &str =
    "query($filter: ProjectFilter) { projects(filter: $filter, first: 20) { totalCount edges { node { title } } } }";

/// A council with a partnership tied to it, two of its wards, and two of the partnership's priorities.
pub struct Place {
    pub officer: Session,
    pub council: String,
    pub partnership: String,
    /// Eastern Felixstowe (IMD decile 3) and Kirkley and Pakefield (decile 2), by id.
    pub wards: Vec<String>,
    /// "Loneliness among older residents" and "Speeding through villages", by id.
    pub priorities: Vec<String>,
}

async fn create_org(app: &TestApp, who: &Session, name: &str, kind: &str) -> (String, String) {
    let resp = app.gql_as(Some(&who.token), CREATE_ORG, json!({ "input": { "name": name, "kind": kind } })).await;
    let made = &data(&resp)["createOrganisation"]["organisation"];
    (made["id"].as_str().expect("an id").to_owned(), made["slug"].as_str().expect("a slug").to_owned())
}

pub async fn place(app: &TestApp) -> Place {
    let officer = app.register("officer@eastsuffolk.example", "Council Officer").await;
    let (council, council_slug) = create_org(app, &officer, "East Suffolk Council", "COUNCIL").await;
    let (partnership, partnership_slug) =
        create_org(app, &officer, "Felixstowe Peninsula", "COMMUNITY_PARTNERSHIP").await;
    data(&app.gql_as(Some(&officer.token), TIE, json!({ "p": partnership, "c": council })).await);
    let (ok, out) = import(
        app,
        &format!(
            "gss_code,name,council,partnership,population,imd_decile,figures_illustrative\n\
             E05099901,Eastern Felixstowe,{council_slug},{partnership_slug},9000,3,true\n\
             E05099902,Kirkley and Pakefield,{council_slug},,12000,2,true\n"
        ),
    );
    assert!(ok, "{out}");
    let wards = app
        .gql("query($c: ID!) { wards(filter: {councilId: $c}) { nodes { id name } } }", json!({ "c": council }))
        .await;
    let mut by_name: Vec<(String, String)> = data(&wards)["wards"]["nodes"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|w| (w["name"].as_str().expect("name").to_owned(), w["id"].as_str().expect("id").to_owned()))
        .collect();
    by_name.sort();
    let mut priorities = Vec::new();
    for title in ["Loneliness among older residents", "Speeding through villages"] {
        let input = json!({ "input": { "partnershipId": partnership, "financialYear": "2026-27", "title": title,
            "agreedOn": "2026-03-12", "workshop": "Annual workshop, Felixstowe" } });
        let resp = app.gql_as(Some(&officer.token), PRIORITY, input).await;
        priorities.push(data(&resp)["createPriority"]["id"].as_str().expect("an id").to_owned());
    }
    Place { officer, council, partnership, wards: by_name.into_iter().map(|(_, id)| id).collect(), priorities }
}

pub fn project_input(organisation: &str, title: &str, extra: Value) -> Value {
    let mut input = json!({ "organisationId": organisation, "title": title, "category": "COMMUNITY_SAFETY",
        "location": { "lat": 51.9617, "lng": 1.3513 }, "postcode": "IP11 7AA" });
    crate::helpers::merge(&mut input, &extra);
    json!({ "input": input })
}

fn titles(resp: &Value) -> Vec<String> {
    data(resp)["projects"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["title"].as_str().expect("a title").to_owned())
        .collect()
}

#[tokio::test]
async fn an_organisation_describes_its_projects_and_anyone_reads_them() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let lead = app.register("lead@watch.example", "Watch Lead").await;
    let watch = app.organisation(&lead, "Trimley Neighbourhood Watch").await;
    let stranger = app.register("stranger@example.org", "Stranger").await;
    let [eastern, kirkley] = [&place.wards[0], &place.wards[1]];
    let [loneliness, speeding] = [&place.priorities[0], &place.priorities[1]];

    let speed_gun = project_input(
        &watch,
        "Community speed watch",
        json!({ "summary": "A speed gun for the villages", "wardId": eastern, "priorityIds": [speeding, speeding],
            "beneficiaries": "Residents of the Trimleys", "ageRange": { "min": 18 },
            "schedule": { "weekly": [{ "day": "SATURDAY", "start": "08:00", "end": "10:00" }] } }),
    );
    assert_eq!(error_code(&app.gql(CREATE, speed_gun.clone()).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CREATE, speed_gun.clone()).await), "FORBIDDEN");
    let made = app.gql_as(Some(&lead.token), CREATE, speed_gun).await;
    let project = &data(&made)["createProject"]["project"];
    assert_eq!(project["status"], "PROPOSED");
    assert_eq!(project["ward"]["name"], "Eastern Felixstowe");
    assert_eq!(project["ageRange"], json!({ "min": 18, "max": null }));
    assert_eq!(project["priorities"], json!([{ "title": "Speeding through villages" }]));
    assert_eq!(project["schedule"]["weekly"], json!([{ "day": "SATURDAY", "start": "08:00", "end": "10:00" }]));
    let project_id = project["id"].as_str().expect("an id").to_owned();

    // Bad input is named, and nothing is written.
    for (extra, field) in [
        (json!({ "location": null, "postcode": null }), "input.location"),
        (json!({ "ageRange": { "min": 40, "max": 12 } }), "input.ageRange.max"),
        (json!({ "ageRange": { "min": -1 } }), "input.ageRange.min"),
        (json!({ "ageRange": { "max": 70000 } }), "input.ageRange.max"),
        (json!({ "title": "x" }), "input.title"),
        (json!({ "priorityIds": [project_id] }), "input.priorityIds[0]"),
        (json!({ "wardId": place.partnership }), "input.wardId"),
        (json!({ "schedule": { "startDate": "2027-05-01", "endDate": "2027-04-01" } }), "input.schedule.endDate"),
    ] {
        let resp = app.gql_as(Some(&lead.token), CREATE, project_input(&watch, "Bad project", extra)).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{resp}");
    }
    // An area-wide project needs no place.
    let area = project_input(
        &watch,
        "Village defibrillators",
        json!({ "location": null, "postcode": null, "areaWide": true, "category": "OTHER" }),
    );
    assert_eq!(data(&app.gql_as(Some(&lead.token), CREATE, area).await)["createProject"]["project"]["areaWide"], true);

    // A retired priority can stay where it is, but not be newly tagged.
    let retire = "mutation($id: ID!) { updatePriority(input: {id: $id, status: RETIRED}) { status } }";
    data(&app.gql_as(Some(&place.officer.token), retire, json!({ "id": speeding })).await);
    let tagged = app
        .gql_as(
            Some(&lead.token),
            UPDATE,
            json!({ "input": { "projectId": project_id, "priorityIds": [speeding, loneliness], "status": "ACTIVE" } }),
        )
        .await;
    assert_eq!(
        data(&tagged)["updateProject"]["project"]["priorities"],
        json!([{ "title": "Speeding through villages" }, { "title": "Loneliness among older residents" }])
    );
    let retired = app
        .gql_as(
            Some(&lead.token),
            CREATE,
            project_input(&watch, "Another speed watch", json!({ "priorityIds": [speeding] })),
        )
        .await;
    assert_eq!(retired["errors"][0]["extensions"]["field"], "input.priorityIds[0]", "{retired}");

    // Moving it out of its ward: it keeps its location; with neither, it is refused.
    let stranger_edit = json!({ "input": { "projectId": project_id, "status": "CLOSED" } });
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), UPDATE, stranger_edit).await), "FORBIDDEN");
    let moved = app
        .gql_as(
            Some(&lead.token),
            UPDATE,
            json!({ "input": { "projectId": project_id, "wardId": kirkley, "ageRange": null } }),
        )
        .await;
    assert_eq!(data(&moved)["updateProject"]["project"]["ward"]["name"], "Kirkley and Pakefield");
    assert_eq!(data(&moved)["updateProject"]["project"]["ageRange"], Value::Null);
    let nowhere = app
        .gql_as(
            Some(&lead.token),
            UPDATE,
            json!({ "input": { "projectId": project_id, "wardId": null, "location": null } }),
        )
        .await;
    assert_eq!(error_code(&nowhere), "BAD_USER_INPUT");
    let kept =
        app.gql("query($id: ID!) { project(id: $id) { ward { name } status } }", json!({ "id": project_id })).await;
    assert_eq!(data(&kept)["project"], json!({ "ward": { "name": "Kirkley and Pakefield" }, "status": "ACTIVE" }));

    // Its needs: drafts only for members; a need may only join its own organisation's project.
    let open = app
        .open_need(
            &lead,
            &watch,
            "Speed watch volunteers",
            json!({ "projectId": project_id, "priorityIds": [loneliness] }),
        )
        .await;
    app.draft_need(&lead, &watch, "Speed watch coordinator", json!({ "projectId": project_id })).await;
    let other_lead = app.register("other@example.org", "Other").await;
    let other = app.organisation(&other_lead, "Another group").await;
    let foreign = app
        .gql_as(
            Some(&other_lead.token),
            "mutation($input: CreateNeedInput!) { createNeed(input: $input) { need { id } } }",
            json!({ "input": { "organisationId": other, "title": "Borrowed project", "category": "OTHER", "remote": true, "projectId": project_id } }),
        )
        .await;
    assert_eq!(foreign["errors"][0]["extensions"]["field"], "input.projectId", "{foreign}");
    let needs = "query($id: ID!) { project(id: $id) { needs { totalCount nodes { title project { title } priorities { title } } } } }";
    let public = app.gql(needs, json!({ "id": project_id })).await;
    assert_eq!(
        data(&public)["project"]["needs"],
        json!({ "totalCount": 1, "nodes": [{ "title": "Speed watch volunteers", "project": { "title": "Community speed watch" }, "priorities": [{ "title": "Loneliness among older residents" }] }] })
    );
    let member = app.gql_as(Some(&lead.token), needs, json!({ "id": project_id })).await;
    assert_eq!(data(&member)["project"]["needs"]["totalCount"], 2);
    // Out of the project again.
    let left = app
        .gql_as(
            Some(&lead.token),
            "mutation($id: ID!) { updateNeed(input: {needId: $id, projectId: null, priorityIds: []}) { need { project { id } priorities { id } } } }",
            json!({ "id": open }),
        )
        .await;
    assert_eq!(data(&left)["updateNeed"]["need"], json!({ "project": null, "priorities": [] }));

    // A priority lists what addresses it; the organisation lists its projects; node(id) finds one.
    let by_priority = "query($id: ID!) { node(id: $id) { ... on Priority { projects { title } needs { title } } } }";
    let resp = app.gql(by_priority, json!({ "id": loneliness })).await;
    assert_eq!(data(&resp)["node"], json!({ "projects": [{ "title": "Community speed watch" }], "needs": [] }));
    let org = app
        .gql(
            "query($id: ID!) { organisation(id: $id) { projects { totalCount nodes { title } } } }",
            json!({ "id": watch }),
        )
        .await;
    assert_eq!(
        data(&org)["organisation"]["projects"],
        json!({ "totalCount": 2, "nodes": [{ "title": "Village defibrillators" }, { "title": "Community speed watch" }] })
    );
    let node = app
        .gql("query($id: ID!) { node(id: $id) { __typename ... on Project { title } } }", json!({ "id": project_id }))
        .await;
    assert_eq!(data(&node)["node"], json!({ "__typename": "Project", "title": "Community speed watch" }));
}

#[tokio::test]
async fn projects_are_listed_by_place_partnership_priority_and_status_in_fixed_statements() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let lead = app.register("lead@projects.example", "Lead").await;
    let group = app.organisation(&lead, "Felixstowe Community Group").await;
    let other_lead = app.register("lead@london.example", "London Lead").await;
    let london = app.organisation(&other_lead, "Putney Projects").await;
    let [eastern, kirkley] = [&place.wards[0], &place.wards[1]];
    let [loneliness, speeding] = [&place.priorities[0], &place.priorities[1]];
    let make = |who: &Session, input: Value| {
        let token = who.token.clone();
        let app = &app;
        async move { data(&app.gql_as(Some(&token), CREATE, input).await)["createProject"]["project"]["id"].clone() }
    };
    make(
        &lead,
        project_input(
            &group,
            "Lunch club",
            json!({ "wardId": eastern, "category": "BEFRIENDING", "status": "ACTIVE" }),
        ),
    )
    .await;
    make(&lead, project_input(&group, "Speed gun", json!({ "wardId": kirkley, "priorityIds": [speeding] }))).await;
    make(&lead, project_input(&group, "Pavilion repaint", json!({ "wardId": kirkley, "category": "ENVIRONMENT" })))
        .await;
    make(
        &other_lead,
        project_input(&london, "Putney English classes", json!({ "category": "ENGLISH_CLASSES", "location": { "lat": 51.4566, "lng": -0.2426 }, "priorityIds": [loneliness] })),
    )
    .await;

    let list = |filter: Value| app.gql(LIST, json!({ "filter": filter }));
    assert_eq!(titles(&list(json!({})).await).len(), 4);
    assert_eq!(titles(&list(json!({ "organisationId": london })).await), ["Putney English classes"]);
    assert_eq!(titles(&list(json!({ "wardId": kirkley })).await), ["Pavilion repaint", "Speed gun"]);
    // A partnership's: in its wards (Eastern Felixstowe), or addressing its priorities (wherever they are).
    assert_eq!(
        titles(&list(json!({ "partnershipId": place.partnership })).await),
        ["Putney English classes", "Speed gun", "Lunch club"]
    );
    assert_eq!(titles(&list(json!({ "priorityIds": [speeding] })).await), ["Speed gun"]);
    assert_eq!(
        titles(&list(json!({ "categories": ["BEFRIENDING", "ENVIRONMENT"] })).await),
        ["Pavilion repaint", "Lunch club"]
    );
    assert_eq!(titles(&list(json!({ "status": "ACTIVE" })).await), ["Lunch club"]);
    assert_eq!(
        titles(&list(json!({ "near": { "lat": 51.4566, "lng": -0.2426, "radiusKm": 5 } })).await),
        ["Putney English classes"]
    );
    let bad = list(json!({ "wardId": place.council })).await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "filter.wardId", "{bad}");

    // Every project with its organisation, ward, priorities and needs: the same statements for 4 projects as for 12.
    let wide = "{ projects(first: 50) { nodes { title organisation { name } ward { name } priorities { title } needs(first: 3) { nodes { title } } } } }";
    app.reset_statements();
    data(&app.gql(wide, json!({})).await);
    let few = app.statements();
    for i in 0..8 {
        make(
            &lead,
            project_input(&group, &format!("Project {i}"), json!({ "wardId": eastern, "priorityIds": [loneliness] })),
        )
        .await;
    }
    app.reset_statements();
    let resp = app.gql(wide, json!({})).await;
    assert_eq!(data(&resp)["projects"]["nodes"].as_array().map(Vec::len), Some(12));
    assert_eq!(app.statements(), few, "{:#?}", app.statement_texts());
}
