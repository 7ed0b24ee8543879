//! Wards: loaded from a CSV by `pitchin import wards` (all or nothing, every bad line named), then public to read,
//! by council or partnership, and by id.
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};
use crate::standards;

/// Runs `pitchin import wards FILE` against the test's database.
pub fn import(app: &TestApp, csv: &str) -> (bool, String) {
    let file = standards::file("wards.csv", csv);
    let out = Command::new(env!("CARGO_BIN_EXE_pitchin"))
        .args(["import", "wards"])
        .arg(&file)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("the command runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

const WARDS: &str = "query($filter: WardFilter) { wards(filter: $filter, first: 10) { totalCount edges { node { id gssCode name population deprivationDecile figuresIllustrative council { name } } } } }";

fn names(resp: &Value) -> Vec<String> {
    data(resp)["wards"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["name"].as_str().expect("a name").to_owned())
        .collect()
}

#[tokio::test]
async fn wards_import_whole_or_not_at_all_and_anyone_reads_them() {
    let app = TestApp::spawn().await;
    let officer = app.register("officer@council.example", "Officer").await;
    let create =
        "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id slug } } }";
    let mut made = Vec::new();
    for (name, kind) in [
        ("East Suffolk Council", "COUNCIL"),
        ("Felixstowe Peninsula", "COMMUNITY_PARTNERSHIP"),
        ("Lowestoft Jobs Club", "COMMUNITY_GROUP"),
    ] {
        let resp = app.gql_as(Some(&officer.token), create, json!({ "input": { "name": name, "kind": kind } })).await;
        made.push(data(&resp)["createOrganisation"]["organisation"].clone());
    }
    let (council, partnership) = (made[0]["slug"].as_str().expect("slug"), made[1]["slug"].as_str().expect("slug"));
    // A ward's partnership serves the ward's council: tied first.
    let tie =
        "mutation($p: ID!, $c: ID!) { setPartnershipCouncil(input: {partnershipId: $p, councilId: $c}) { name } }";
    let (ok, said) =
        import(&app, &format!("gss_code,name,council,partnership\nE05099909,Loose,{council},{partnership}\n"));
    assert!(!ok && said.contains("is not tied to the council"), "{said}");
    data(&app.gql_as(Some(&officer.token), tie, json!({ "p": made[1]["id"], "c": made[0]["id"] })).await);

    // Every bad line is reported, and nothing is imported.
    let bad = format!(
        "gss_code,name,council,partnership,population,imd_decile,figures_illustrative\n\
         E05099901,Eastern Felixstowe,{council},{partnership},9000,7,true\n\
         E0509990,Short code,{council},,,,\n\
         E05099903,Kirkley,lowestoft-jobs-club,,,,\n\
         E05099904,Harbour,{council},,,12,\n"
    );
    let (ok, said) = import(&app, &bad);
    assert!(!ok, "{said}");
    for line in ["line 3:", "line 4:", "line 5:"] {
        assert!(said.contains(line), "{line} in {said}");
    }
    assert!(said.contains("not an organisation of kind COUNCIL") && said.contains("nothing imported"), "{said}");
    assert!(!said.contains("line 2:"), "{said}");
    assert_eq!(data(&app.gql(WARDS, json!({})).await)["wards"]["totalCount"], 0);

    let good = format!(
        "gss_code,name,council,partnership,population,imd_decile,figures_illustrative\n\
         E05099901,Eastern Felixstowe,{council},{partnership},9000,7,true\n\
         E05099902,Western Felixstowe,{council},{partnership},,,\n\
         E05099903,Kirkley and Pakefield,{council},,11000,2,true\n"
    );
    let (ok, said) = import(&app, &good);
    assert!(ok && said.contains("3 new, 0 updated"), "{said}");
    // Again, with a change: the same wards, updated.
    let (ok, said) = import(&app, &good.replace("11000,2", "11200,2"));
    assert!(ok && said.contains("0 new, 3 updated"), "{said}");

    // Anyone reads them, by council or by partnership, in name order.
    let council_id = made[0]["id"].clone();
    let all = app.gql(WARDS, json!({ "filter": { "councilId": council_id } })).await;
    assert_eq!(names(&all), ["Eastern Felixstowe", "Kirkley and Pakefield", "Western Felixstowe"]);
    let kirkley = &data(&all)["wards"]["edges"][1]["node"];
    assert_eq!(
        (kirkley["gssCode"].clone(), kirkley["population"].clone(), kirkley["deprivationDecile"].clone()),
        (json!("E05099903"), json!(11200), json!(2))
    );
    assert_eq!(kirkley["council"]["name"], "East Suffolk Council");
    let peninsula = app.gql(WARDS, json!({ "filter": { "partnershipId": made[1]["id"] } })).await;
    assert_eq!(names(&peninsula), ["Eastern Felixstowe", "Western Felixstowe"]);
    let by_id = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Ward { name figuresIllustrative } } }",
            json!({ "id": kirkley["id"] }),
        )
        .await;
    assert_eq!(data(&by_id)["node"], json!({ "name": "Kirkley and Pakefield", "figuresIllustrative": true }));
    // Paged by the keyset cursor.
    let first =
        app.gql("{ wards(first: 2) { pageInfo { hasNextPage endCursor } edges { node { name } } } }", json!({})).await;
    let cursor = data(&first)["wards"]["pageInfo"]["endCursor"].clone();
    let rest = app
        .gql(
            "query($after: String) { wards(first: 2, after: $after) { edges { node { name } } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(names(&rest), ["Western Felixstowe"]);
    // A file without the optional columns changes only what it names: population and partnership stay.
    let (ok, said) = import(&app, &format!("gss_code,name,council\nE05099903,Kirkley & Pakefield,{council}\n"));
    assert!(ok && said.contains("0 new, 1 updated"), "{said}");
    let again = app.gql(WARDS, json!({ "filter": { "councilId": council_id } })).await;
    let kirkley = &data(&again)["wards"]["edges"][1]["node"];
    assert_eq!((kirkley["name"].clone(), kirkley["population"].clone()), (json!("Kirkley & Pakefield"), json!(11200)));
    assert_eq!(names(&app.gql(WARDS, json!({ "filter": { "partnershipId": made[1]["id"] } })).await).len(), 2);
    let wrong = app.gql(WARDS, json!({ "filter": { "councilId": "not-an-id" } })).await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "filter.councilId");
}
