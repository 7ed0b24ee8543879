//! Sessions: refresh tokens rotate on every use, a reused one ends its session, sign-out here or everywhere, and
//! password changes end every session.
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const LOGIN: &str =
    "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken refreshTokenExpiresAt } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken user { email } } }";
const LOGOUT: &str = "mutation($t: String!) { logout(input: {refreshToken: $t}) { sessionsEnded } }";
const PASSWORD: &str = "a long enough passphrase";

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.gql(LOGIN, json!({ "input": { "email": email, "password": password } })).await
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.gql(REFRESH, json!({ "t": token })).await
}

fn refresh_token(resp: &Value, field: &str) -> String {
    data(resp)[field]["refreshToken"].as_str().expect("a refresh token").to_owned()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_its_session() {
    let app = TestApp::spawn().await;
    app.register("sam@sessions.example", "Sam").await;
    let first = refresh_token(&login(&app, "sam@sessions.example", PASSWORD).await, "login");

    let resp = refresh(&app, &first).await;
    assert_eq!(data(&resp)["refreshToken"]["user"]["email"], "sam@sessions.example");
    let second = refresh_token(&resp, "refreshToken");
    assert_ne!(first, second, "rotated");
    let access = data(&resp)["refreshToken"]["accessToken"].as_str().unwrap_or_default().to_owned();
    let me = app.gql_as(Some(&access), "{ me { displayName } }", json!({})).await;
    assert_eq!(data(&me)["me"]["displayName"], "Sam");

    // The first token again: someone else has it. Its whole session ends, the newer token included.
    assert_eq!(error_code(&refresh(&app, &first).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&refresh(&app, &second).await), "UNAUTHENTICATED", "the family is revoked");

    // Tokens are stored only as hashes.
    use sea_orm::{EntityTrait, QueryFilter};
    let rows =
        entity::refresh_token::Entity::find().filter(sea_orm::Condition::all()).all(&app.db).await.expect("rows");
    assert!(
        rows.len() >= 2
            && rows.iter().all(|r| r.token_hash != first && r.token_hash != second && r.token_hash.len() == 64)
    );

    assert_eq!(error_code(&refresh(&app, "made-up").await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn signing_out_here_or_everywhere_ends_sessions() {
    let app = TestApp::spawn().await;
    let sam = app.register("sam@out.example", "Sam").await;
    let phone = refresh_token(&login(&app, "sam@out.example", PASSWORD).await, "login");
    let laptop = refresh_token(&login(&app, "sam@out.example", PASSWORD).await, "login");
    let tablet = refresh_token(&login(&app, "sam@out.example", PASSWORD).await, "login");

    let resp = app.gql(LOGOUT, json!({ "t": phone })).await;
    assert_eq!(data(&resp)["logout"]["sessionsEnded"], 1);
    assert_eq!(error_code(&refresh(&app, &phone).await), "UNAUTHENTICATED");
    assert_eq!(data(&app.gql(LOGOUT, json!({ "t": phone })).await)["logout"]["sessionsEnded"], 0, "already out");
    let laptop = refresh_token(&refresh(&app, &laptop).await, "refreshToken");

    let everywhere = "mutation { logoutEverywhere { sessionsEnded } }";
    assert_eq!(error_code(&app.gql(everywhere, json!({})).await), "UNAUTHENTICATED");
    let resp = app.gql_as(Some(&sam.token), everywhere, json!({})).await;
    assert_eq!(data(&resp)["logoutEverywhere"]["sessionsEnded"], 3, "laptop, tablet and the registration's session");
    for token in [&laptop, &tablet] {
        assert_eq!(error_code(&refresh(&app, token).await), "UNAUTHENTICATED");
    }
    // Access tokens already issued end too, not only when they expire.
    assert_eq!(error_code(&app.gql_as(Some(&sam.token), "{ me { id } }", json!({})).await), "UNAUTHENTICATED");
    let fresh = login(&app, "sam@out.example", PASSWORD).await;
    let access = data(&fresh)["login"]["accessToken"].as_str().unwrap_or_default().to_owned();
    assert_eq!(data(&app.gql_as(Some(&access), "{ me { displayName } }", json!({})).await)["me"]["displayName"], "Sam");
}

#[tokio::test]
async fn changing_the_password_needs_the_old_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let sam = app.register("sam@password.example", "Sam").await;
    let other_device = refresh_token(&login(&app, "sam@password.example", PASSWORD).await, "login");
    let change =
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken } }";

    let wrong =
        json!({ "input": { "currentPassword": "not my password at all", "newPassword": "a brand new passphrase" } });
    assert_eq!(error_code(&app.gql_as(Some(&sam.token), change, wrong).await), "UNAUTHENTICATED");
    let weak = json!({ "input": { "currentPassword": PASSWORD, "newPassword": "password" } });
    assert_eq!(error_code(&app.gql_as(Some(&sam.token), change, weak).await), "BAD_USER_INPUT");
    let good = json!({ "input": { "currentPassword": PASSWORD, "newPassword": "a brand new passphrase" } });
    assert_eq!(error_code(&app.gql(change, good.clone()).await), "UNAUTHENTICATED", "signed in only");

    let resp = app.gql_as(Some(&sam.token), change, good).await;
    let this_device = refresh_token(&resp, "changePassword");
    let new_access = data(&resp)["changePassword"]["accessToken"].as_str().unwrap_or_default().to_owned();
    assert_eq!(error_code(&app.gql_as(Some(&sam.token), "{ me { id } }", json!({})).await), "UNAUTHENTICATED");
    assert!(
        app.gql_as(Some(&new_access), "{ me { id } }", json!({})).await.get("errors").is_none(),
        "the new one works"
    );
    assert_eq!(error_code(&refresh(&app, &other_device).await), "UNAUTHENTICATED", "other sessions end");
    assert!(refresh(&app, &this_device).await.get("errors").is_none(), "this one goes on");
    assert_eq!(error_code(&login(&app, "sam@password.example", PASSWORD).await), "UNAUTHENTICATED");
    assert!(login(&app, "sam@password.example", "a brand new passphrase").await.get("errors").is_none());
}

/// `register` writes the account, its verification code and its session together: when the last write fails,
/// nothing is left behind (the address is free to register again) and no code is mailed.
#[tokio::test]
async fn registering_writes_all_or_nothing() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    app.db.execute_unprepared("DROP TABLE refresh_tokens").await.expect("break the session store");
    let register = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";
    let input = json!({ "input": { "email": "half@written.example", "password": "a long enough passphrase", "displayName": "Half" } });
    let resp = app.gql(register, input.clone()).await;
    assert!(resp.get("errors").is_some(), "{resp}");
    app.deliver_mail().await;
    assert!(app.mail.sent().is_empty(), "no code was mailed");
    let resp = login(&app, "half@written.example", "a long enough passphrase").await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED", "no account was left: {resp}");
    let accounts = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM users WHERE email = 'half@written.example'",
        ))
        .await
        .expect("count")
        .and_then(|row| row.try_get::<i64>("", "n").ok());
    assert_eq!(accounts, Some(0));
}
