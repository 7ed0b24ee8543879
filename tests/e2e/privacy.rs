//! Personal-data rights: a person's export holds what is theirs, and nobody else's.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

const EXPORT: &str = "{ exportMyData }";

#[tokio::test]
async fn a_person_exports_everything_held_about_them_and_nothing_of_others() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@export.example", "Owner").await;
    let org = app.organisation(&owner, "Export Club").await;
    let need = app.open_need(&owner, &org, "ESOL helper", json!({})).await;
    let (amira, _) =
        app.volunteer("amira@export.example", "Amira", json!({"bio": "Teacher", "postcode": "SW15 5PU"})).await;
    let (dan, _) = app.volunteer("dan@export.example", "Dan", json!({})).await;
    app.apply(&amira, &need).await;
    app.apply(&dan, &need).await;

    let resp = app.gql_as(Some(&amira.token), EXPORT, json!({})).await;
    let export = &data(&resp)["exportMyData"];
    assert_eq!(export["account"]["email"], "amira@export.example");
    assert_eq!(export["volunteerProfile"]["bio"], "Teacher");
    assert_eq!(export["volunteerProfile"]["postcode"], "SW15 5PU");
    assert_eq!(export["volunteerProfile"]["dbsCheck"]["level"], "ENHANCED");
    assert!(export["volunteerProfile"]["location"]["lat"].is_number(), "her exact place is hers to see");
    assert_eq!(export["applications"].as_array().map(Vec::len), Some(1));
    assert_eq!(export["applications"][0]["need"], "ESOL helper");
    assert_eq!(export["sessions"].as_array().map(Vec::len), Some(1), "the registration's session");
    let text = export.to_string();
    assert!(!text.contains("dan@export.example") && !text.contains("Dan"), "nobody else's data");
    assert!(!text.contains("argon2") && !text.to_lowercase().contains("password"), "no password hash");

    let resp = app.gql_as(Some(&owner.token), EXPORT, json!({})).await;
    let export = &data(&resp)["exportMyData"];
    assert_eq!(export["memberships"][0]["organisation"], "Export Club");
    assert_eq!(export["memberships"][0]["role"], "OWNER");
    assert_eq!(export["volunteerProfile"], serde_json::Value::Null);
    assert!(
        !export.to_string().contains("amira@export.example"),
        "an organisation's owner exports their own data only"
    );

    assert_eq!(error_code(&app.gql(EXPORT, json!({})).await), "UNAUTHENTICATED");
}
