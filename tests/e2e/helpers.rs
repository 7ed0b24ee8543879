//! Spawns the real app (router, schema, migrations) on a fresh database per test: a temporary SQLite
//! file, or a new PostgreSQL database when `TEST_DATABASE_URL` is set (dropped when the test ends).
use std::sync::{Arc, Mutex};

use api::{AppState, Settings, build_router};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

pub struct TestApp {
    pub router: Router,
    /// The metrics address's router (`PITCHIN_METRICS_BIND`).
    pub metrics: Router,
    pub db: DatabaseConnection,
    /// The test database's address, for the command line to reach it.
    pub database_url: String,
    /// Mail the app sent, in order (once `deliver_mail` has sent what the outbox holds).
    pub mail: Arc<CapturedMail>,
    /// The outbox's dispatcher, sending to `mail` (or to the SMTP server the settings name).
    pub notifications: api::notifications::sender::Dispatcher,
    /// The scheduled sweeps, on the app's database and matching index.
    pub scheduler: api::notifications::sender::Scheduler,
    /// Live updates this app hears of (`domain::live`), and its live connections.
    pub live: Arc<domain::live::Hub>,
    pub sockets: Arc<api::http::live::Sockets>,
    /// The SQL of every statement run (since the last `reset_statements`).
    statements: Arc<Mutex<Vec<String>>>,
    /// The SQL of every statement the read replica ran, when the settings name one (`database_read_url`).
    replica_statements: Arc<Mutex<Vec<String>>>,
    cleanup: Cleanup,
}

/// A mail transport that keeps what it is given.
#[derive(Default)]
pub struct CapturedMail {
    sent: std::sync::Mutex<Vec<api::mail::Email>>,
}

#[async_trait::async_trait]
impl api::mail::Mailer for CapturedMail {
    async fn send(&self, email: &api::mail::Email) -> Result<(), api::mail::SendError> {
        self.sent.lock().expect("mail lock").push(email.clone());
        Ok(())
    }
}

impl CapturedMail {
    pub fn sent(&self) -> Vec<api::mail::Email> {
        self.sent.lock().expect("mail lock").clone()
    }

    /// The verification code in the last message to `to`.
    pub fn verification_code(&self, to: &str) -> Option<String> {
        let sent = self.sent();
        let body = &sent.iter().rev().find(|m| m.to == to)?.text;
        let start = body.find("?token=")? + "?token=".len();
        Some(body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
    }
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    Postgres { admin_url: String, database: String },
}

#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub user_id: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns the app with settings changed by `configure` (limits, switches).
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            api::telemetry::init(api::config::LogFormat::Pretty);
        }
        let name = format!("pitchin_t_{}", Uuid::new_v4().simple());
        let (url, cleanup) = match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let admin = sea_orm::Database::connect(admin_url.as_str()).await.expect("connect to TEST_DATABASE_URL");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
                admin.close().await.ok();
                let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("a database URL with a path");
                (format!("{base}/{name}"), Cleanup::Postgres { admin_url, database: name })
            }
            None => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                (format!("sqlite://{}?mode=rwc", path.display()), Cleanup::SqliteFile(path))
            }
        };
        let mut settings = Settings::for_database(&url);
        settings.db_max_connections = 8;
        configure(&mut settings);
        let mut db = api::connect(&settings).await.expect("connect to the test database");
        api::migrate(&db).await.expect("migrations");
        let statements = Arc::new(Mutex::new(Vec::new()));
        let log = statements.clone();
        db.set_metric_callback(move |info| {
            log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(info.statement.sql.clone());
        });
        let keys = Arc::new(api::auth::token::TokenKeys::from_settings(&settings).expect("token keys"));
        let mail = Arc::new(CapturedMail::default());
        let mailer: Arc<dyn api::mail::Mailer> = match &settings.smtp_url {
            Some(_) => api::mail::from_settings(&settings).expect("the SMTP transport"),
            None => mail.clone(),
        };
        let mut state = AppState::new(db.clone(), keys, &settings, mailer);
        let replica_statements = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut replica_db) = api::connect_replica(&settings).await.expect("the replica's settings") {
            let (log, reads_log) = (replica_statements.clone(), replica_statements.clone());
            replica_db.set_metric_callback(move |info| {
                log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(info.statement.sql.clone());
            });
            let replica = api::replica(&settings, replica_db);
            replica.reads().observe(move |statement| {
                reads_log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(statement.sql.clone());
            });
            state = state.with_replica(replica, &settings);
        }
        let notifications = state.notifications.clone();
        let scheduler = api::notifications::sender::Scheduler::new(db.clone(), state.matching.clone(), &settings);
        // On PostgreSQL the hottest reads run on connections of their own (`domain::store::reads`): counted alike.
        let log = statements.clone();
        state.reads.observe(move |statement| {
            log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(statement.sql.clone());
        });
        let (live, sockets) = (state.live.clone(), state.sockets.clone());
        let metrics = api::http::metrics::router(state.clone());
        let router = build_router(state);
        Self {
            router,
            metrics,
            db,
            database_url: url,
            mail,
            notifications,
            scheduler,
            live,
            sockets,
            statements,
            replica_statements,
            cleanup,
        }
    }

    /// Sends what the notifications outbox holds now, as the server's dispatcher would; what each attempt came to.
    pub async fn deliver_mail(&self) -> Vec<domain::notifications::outbox::Recorded> {
        self.notifications.deliver_due(domain::now()).await.expect("the outbox is sent")
    }

    /// Serves the app over HTTP on `listener` (bound first, so that `public_url` can name its port), for the
    /// validators that fetch what they check.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        let service = self.router.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
    }

    /// SQL statements run since the app started (or since the last `reset_statements`).
    pub fn statements(&self) -> usize {
        self.statement_texts().len()
    }

    /// The SQL of the statements run since the app started (or since the last `reset_statements`).
    pub fn statement_texts(&self) -> Vec<String> {
        self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// How many statements the read replica has run since the app started.
    pub fn replica_statements(&self) -> usize {
        self.replica_statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    pub fn reset_statements(&self) {
        self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// Sends a request through the router and returns the whole response (status, headers, body).
    pub async fn send(&self, request: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(request).await.expect("router answers")
    }

    pub async fn raw(&self, request: Request<Body>) -> (u16, String) {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Runs a GraphQL request as `token` (or anonymously) and returns the whole response JSON.
    ///
    /// Queries go over GET, where a shared cache would keep what the server lets it: every answer to a signed-in
    /// query must be `private, no-store`, and an anonymous one public exactly when it succeeded. So every query
    /// shape of the suite, as every viewer it is asked as, is checked for it.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        if !query.trim_start().starts_with("mutation") {
            let params = [("query", query.to_owned()), ("variables", variables.to_string())];
            let url = format!("/graphql?{}", serde_urlencoded::to_string(params).expect("a query string"));
            let mut request = Request::get(url);
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let response = self.send(request.body(Body::empty()).expect("request")).await;
            let status = response.status().as_u16();
            let cache = response.headers().get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(status, 200, "GraphQL over GET answered HTTP {status}: {text}");
            let answer: Value = serde_json::from_str(&text).expect("JSON response");
            let failed = answer.get("errors").is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()));
            let expected = if token.is_none() && !failed { "public, max-age=60" } else { "private, no-store" };
            assert_eq!(
                cache.as_deref(),
                Some(expected),
                "the cache header of {query} (signed in: {})",
                token.is_some()
            );
            return answer;
        }
        let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        let (status, text) = self.raw(request.body(Body::from(body)).expect("request")).await;
        assert_eq!(status, 200, "GraphQL answered HTTP {status}: {text}");
        serde_json::from_str(&text).expect("JSON response")
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(None, query, variables).await
    }

    pub async fn register(&self, email: &str, name: &str) -> Session {
        let resp = self
            .gql(
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
                json!({ "input": { "email": email, "password": "a long enough passphrase", "displayName": name } }),
            )
            .await;
        let data = data(&resp);
        Session {
            token: data["register"]["accessToken"].as_str().expect("token").to_owned(),
            user_id: data["register"]["user"]["id"].as_str().expect("id").to_owned(),
        }
    }

    /// A platform admin, made directly through the service (the API never hands out admin rights).
    pub async fn admin(&self) -> Session {
        use api::values::{Email, Password};
        let email = Email::parse("email", "root@pitchin.example").expect("email");
        let password = Password::parse("password", "a long enough passphrase", &email).expect("password");
        api::users::service::create_user(
            &self.db,
            email,
            password,
            "Admin".into(),
            domain::users::PlatformRole::Admin,
            true,
        )
        .await
        .expect("admin");
        self.login("root@pitchin.example").await
    }

    /// A partner key for public listings, issued by a platform admin (made for it).
    pub async fn listings_key(&self) -> String {
        let admin = self.admin().await;
        let issued = self
            .gql_as(
                Some(&admin.token),
                r#"mutation { issueApiKey(input: {name: "Local paper", scopes: [READ_PUBLIC_LISTINGS]}) { key } }"#,
                json!({}),
            )
            .await;
        data(&issued)["issueApiKey"]["key"].as_str().expect("a key").to_owned()
    }

    /// Signs in as `email` (registered with the tests' password): a new session and a token issued now.
    pub async fn login(&self, email: &str) -> Session {
        let resp = self
            .gql(
                "mutation($email: String!) { login(input: {email: $email, password: \"a long enough passphrase\"}) { accessToken user { id } } }",
                json!({ "email": email }),
            )
            .await;
        let data = data(&resp);
        Session {
            token: data["login"]["accessToken"].as_str().expect("token").to_owned(),
            user_id: data["login"]["user"]["id"].as_str().expect("id").to_owned(),
        }
    }

    pub async fn organisation(&self, owner: &Session, name: &str) -> String {
        let resp = self
            .gql_as(
                Some(&owner.token),
                "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id } } }",
                json!({ "input": { "name": name, "kind": "CHARITY", "description": "Test organisation",
                    "postcode": "SW15 4HR", "location": { "lat": 51.4566, "lng": -0.2426 } } }),
            )
            .await;
        data(&resp)["createOrganisation"]["organisation"]["id"].as_str().expect("org id").to_owned()
    }

    /// Creates and publishes a need; `extra` fields override the defaults of the input.
    pub async fn open_need(&self, member: &Session, organisation_id: &str, title: &str, extra: Value) -> String {
        let id = self.draft_need(member, organisation_id, title, extra).await;
        let resp = self
            .gql_as(
                Some(&member.token),
                "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { status } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data(&resp)["publishNeed"]["need"]["status"], "OPEN");
        id
    }

    pub async fn draft_need(&self, member: &Session, organisation_id: &str, title: &str, extra: Value) -> String {
        let mut input = json!({
            "organisationId": organisation_id, "title": title, "description": "Help wanted",
            "category": "ENGLISH_CLASSES", "requiredSkills": ["teaching english"], "languages": ["arabic"],
            "location": { "lat": 51.4566, "lng": -0.2426 }, "postcode": "SW15 4HR", "volunteersNeeded": 2,
            "schedule": { "weekly": [{ "day": "TUESDAY", "start": "19:00", "end": "21:00" }] }
        });
        merge(&mut input, &extra);
        let resp = self
            .gql_as(
                Some(&member.token),
                "mutation($input: CreateNeedInput!) { createNeed(input: $input) { need { id status } } }",
                json!({ "input": input }),
            )
            .await;
        let need = &data(&resp)["createNeed"]["need"];
        assert_eq!(need["status"], "DRAFT");
        need["id"].as_str().expect("need id").to_owned()
    }

    /// Registers a volunteer with a profile in Roehampton (or where `extra` says).
    pub async fn volunteer(&self, email: &str, name: &str, extra: Value) -> (Session, String) {
        let session = self.register(email, name).await;
        let mut input = json!({
            "displayName": name, "bio": "Happy to help", "skills": ["Teaching English", "IT support"],
            "interests": ["ENGLISH_CLASSES"], "languages": ["Arabic", "English"], "postcode": "SW15 5PU",
            "location": { "lat": 51.4613, "lng": -0.2391 }, "travelRadiusKm": 5.0,
            "availability": [{ "day": "TUESDAY", "start": "18:00", "end": "22:00" }],
            "dbsCheck": { "level": "ENHANCED", "issuedOn": "2025-03-01", "onUpdateService": true }
        });
        merge(&mut input, &extra);
        let resp = self
            .gql_as(
                Some(&session.token),
                "mutation($input: UpsertVolunteerProfileInput!) { upsertVolunteerProfile(input: $input) { volunteerProfile { id } } }",
                json!({ "input": input }),
            )
            .await;
        let profile_id =
            data(&resp)["upsertVolunteerProfile"]["volunteerProfile"]["id"].as_str().expect("profile id").to_owned();
        (session, profile_id)
    }

    pub async fn apply(&self, volunteer: &Session, need_id: &str) -> String {
        let resp = self
            .gql_as(
                Some(&volunteer.token),
                "mutation($id: ID!) { applyToNeed(input: {needId: $id, message: \"I can help\"}) { application { id status } } }",
                json!({ "id": need_id }),
            )
            .await;
        let application = &data(&resp)["applyToNeed"]["application"];
        assert_eq!(application["status"], "APPLIED");
        application["id"].as_str().expect("application id").to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, database } => {
                let (admin_url, database) = (admin_url.clone(), database.clone());
                // Drop runs inside the test's runtime, which cannot block on async work: use a thread of our own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async {
                        if let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A plain GET's answer, for the pages and feeds.
pub struct Got {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub async fn get(app: &TestApp, path: &str, etag: Option<&str>) -> Got {
    let mut request = Request::get(path);
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let response = app.send(request.body(Body::empty()).expect("request")).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    Got { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

pub fn header_of(got: &Got, name: header::HeaderName) -> &str {
    got.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Overwrites `base`'s fields with those of `extra` (both JSON objects).
pub fn merge(base: &mut Value, extra: &Value) {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
}

/// The `data` of a response that must have no errors.
pub fn data(resp: &Value) -> &Value {
    assert!(resp.get("errors").is_none_or(|e| e.as_array().is_none_or(|a| a.is_empty())), "unexpected errors: {resp}");
    &resp["data"]
}

/// The `extensions.code` of the first error; panics if there is none.
pub fn error_code(resp: &Value) -> String {
    resp["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {resp}"))
        .to_owned()
}

/// All error codes of a response, in order.
pub fn error_codes(resp: &Value) -> Vec<String> {
    resp["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}
