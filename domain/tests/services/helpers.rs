//! A fresh, migrated database per test, and the people and organisations the services act on.
use domain::access::AuthUser;
use domain::organisations::{MemberRole, OrganisationId};
use domain::users::PlatformRole;
use migration::MigratorTrait;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Set};
use uuid::Uuid;

/// A remote need with no place, no schedule and no check required: what tests of applying, inviting and erasing
/// post when the need's details do not matter.
pub fn remote_need(
    organisation_id: OrganisationId,
    title: &str,
    category: domain::needs::NeedCategory,
    volunteers_needed: i32,
) -> domain::needs::service::NewNeed {
    domain::needs::service::NewNeed {
        organisation_id,
        title: title.into(),
        description: String::new(),
        category,
        required_skills: vec![],
        languages: vec![],
        safeguarding: domain::volunteers::DbsLevel::None,
        schedule: domain::needs::service::Schedule::default(),
        location: None,
        postcode: None,
        remote: true,
        volunteers_needed,
        project_id: None,
        priority_ids: vec![],
        waitlist_cap: None,
        signup_mode: domain::needs::SignupMode::Ongoing,
        session_capacity: None,
        safeguarding_verified: false,
    }
}

/// An organisation as registered with nothing but its name and kind.
pub fn new_organisation(
    name: &str,
    kind: domain::organisations::OrganisationKind,
) -> domain::organisations::service::NewOrganisation {
    domain::organisations::service::NewOrganisation {
        name: name.into(),
        kind,
        description: String::new(),
        website: None,
        contact_email: None,
        postcode: None,
        location: None,
        charity_number: None,
        local_authority_code: None,
        company_number: None,
    }
}

pub struct TestDb {
    pub db: DatabaseConnection,
    /// The database's address (to listen on, on PostgreSQL).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    pub async fn new() -> Self {
        Self::migrated(None).await
    }

    /// A database with only the first `steps` migrations applied (all with `None`), for testing a migration.
    pub async fn migrated(steps: Option<u32>) -> Self {
        let name = format!("pitchin_d_{}", Uuid::new_v4().simple());
        let (url, cleanup) = match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let admin = Database::connect(admin_url.as_str()).await.expect("connect to TEST_DATABASE_URL");
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
        let db = Database::connect(url.as_str()).await.expect("connect to the test database");
        migration::Migrator::up(&db, steps).await.expect("migrations");
        Self { db, url, cleanup }
    }

    /// A signed-in member of the platform (no organisation yet).
    pub async fn person(&self, name: &str) -> AuthUser {
        let now = domain::now();
        let id = Uuid::now_v7();
        entity::user::ActiveModel {
            id: Set(id),
            email: Set(format!("{}-{}@example.org", name.to_lowercase(), id.simple())),
            password_hash: Set("not a real hash".into()),
            display_name: Set(name.into()),
            role: Set(PlatformRole::Member.as_db().into()),
            created_at: Set(now),
            updated_at: Set(now),
            email_verified_at: Set(Some(now)),
            deleted_at: Set(None),
            sessions_valid_from: Set(None),
        }
        .insert(&self.db)
        .await
        .expect("a user");
        AuthUser { id, role: PlatformRole::Member }
    }

    /// An organisation with `coordinator` as a member.
    pub async fn organisation(&self, coordinator: &AuthUser) -> OrganisationId {
        let now = domain::now();
        let id = Uuid::now_v7();
        entity::organisation::ActiveModel {
            id: Set(id),
            slug: Set(format!("org-{}", id.simple())),
            name: Set("Roehampton Jobs Club".into()),
            kind: Set("COMMUNITY_GROUP".into()),
            description: Set(String::new()),
            website: Set(None),
            contact_email: Set(None),
            postcode: Set(None),
            lat: Set(None),
            lng: Set(None),
            verified: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            charity_number: Set(None),
            local_authority_code: Set(None),
            company_number: Set(None),
        }
        .insert(&self.db)
        .await
        .expect("an organisation");
        entity::membership::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(id),
            user_id: Set(coordinator.id),
            role: Set(MemberRole::Coordinator.as_db().into()),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await
        .expect("a membership");
        OrganisationId(id)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, database } => {
                let (admin_url, database) = (admin_url.clone(), database.clone());
                // Drop runs inside the test's runtime, which cannot block on async work: a thread of our own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(admin_url.as_str()).await {
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

/// Every day from `start` to `end` (minutes after midnight), from two weeks ago: sessions behind and ahead.
pub fn every_day(start: u16, end: u16) -> domain::needs::service::Schedule {
    use domain::values::{TimeWindow, Weekday};
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    domain::needs::service::Schedule {
        weekly: days.into_iter().map(|day| TimeWindow { day, start, end }).collect(),
        start_date: Some(chrono::Utc::now().date_naive() - chrono::TimeDelta::days(14)),
        end_date: None,
    }
}

/// Records that `volunteer` was asked at `at`, as an invitation to a need of another organisation would.
pub async fn asked_at(t: &TestDb, volunteer: &AuthUser, at: chrono::DateTime<chrono::Utc>) {
    let lead = t.person("Elsewhere").await;
    let org = t.organisation(&lead).await;
    let need = domain::needs::service::create(
        &t.db,
        &lead,
        remote_need(org, "Elsewhere", domain::needs::NeedCategory::Other, 1),
    )
    .await
    .expect("a need")
    .id;
    domain::needs::service::publish(&t.db, &lead, domain::needs::NeedId(need)).await.expect("published");
    let (application, _) = domain::applications::service::apply(&t.db, volunteer, need, "").await.expect("applied");
    entity::invitation::ActiveModel {
        application_id: Set(application.id),
        invited_at: Set(at),
        volunteer_id: Set(application.volunteer_id),
        need_id: Set(need),
    }
    .insert(&t.db)
    .await
    .expect("an invitation kept");
}
