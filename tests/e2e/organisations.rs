//! Organisations' register numbers: taken in the forms people type, kept as the registers print them, public, and
//! refused with the field named when they are not a number a register issues.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

const CREATE: &str = "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id charityNumber companyNumber } } }";
const UPDATE: &str = "mutation($input: UpdateOrganisationInput!) { updateOrganisation(input: $input) { organisation { charityNumber companyNumber } } }";

#[tokio::test]
async fn charity_and_company_numbers_are_checked_kept_and_public() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@registers.example", "Owner").await;
    let input = json!({ "input": { "name": "Felixstowe Youth Trust", "kind": "CHARITY",
        "charityNumber": " 1123456 ", "companyNumber": "1234567" } });
    let resp = app.gql_as(Some(&owner.token), CREATE, input).await;
    let created = &data(&resp)["createOrganisation"]["organisation"];
    assert_eq!(
        (created["charityNumber"].clone(), created["companyNumber"].clone()),
        (json!("1123456"), json!("01234567"))
    );
    let id = created["id"].as_str().expect("an id").to_owned();

    // Public record: anyone reads them.
    let read = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Organisation { charityNumber companyNumber } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&read)["node"], json!({ "charityNumber": "1123456", "companyNumber": "01234567" }));

    let moved = json!({ "input": { "organisationId": id, "charityNumber": "sc012345", "companyNumber": null } });
    let resp = app.gql_as(Some(&owner.token), UPDATE, moved).await;
    assert_eq!(
        data(&resp)["updateOrganisation"]["organisation"],
        json!({ "charityNumber": "SC012345", "companyNumber": null })
    );

    for (field, value) in [
        ("charityNumber", "12345"),
        ("charityNumber", "SC1234"),
        ("companyNumber", "123456789"),
        ("companyNumber", "S1234567"),
    ] {
        let resp =
            app.gql_as(Some(&owner.token), UPDATE, json!({ "input": { "organisationId": id, field: value } })).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{field} {value}: {resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], format!("input.{field}"));
        let resp = app
            .gql_as(
                Some(&owner.token),
                CREATE,
                json!({ "input": { "name": "Another Trust", "kind": "CHARITY", field: value } }),
            )
            .await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{field} {value}: {resp}");
    }
    // Nothing half-changed by the refusals.
    let read = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Organisation { charityNumber companyNumber } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&read)["node"], json!({ "charityNumber": "SC012345", "companyNumber": null }));
    // A blank number clears it, as on creation.
    let blank = json!({ "input": { "organisationId": id, "charityNumber": " " } });
    let resp = app.gql_as(Some(&owner.token), UPDATE, blank).await;
    assert_eq!(data(&resp)["updateOrganisation"]["organisation"]["charityNumber"], json!(null));
    // Read back.
    let read = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Organisation { charityNumber companyNumber } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&read)["node"], json!({ "charityNumber": null, "companyNumber": null }));
}
