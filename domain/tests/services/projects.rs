//! Projects: written by the organisation's coordinators, tagged only with active priorities (kept when retired
//! later), holding only their own organisation's needs, and listed by partnership through its wards or priorities.
use domain::error::AppError;
use domain::needs::NeedCategory;
use domain::needs::service::{self as needs, NeedPatch};
use domain::organisations::service as organisations;
use domain::organisations::{OrganisationId, OrganisationKind};
use domain::partnerships::priorities::{self, NewPriority, PriorityPatch, PriorityStatus};
use domain::projects::ProjectStatus;
use domain::projects::service::{self as projects, NewProject, Place, ProjectFilter, ProjectPatch};
use domain::store::page::Page;
use domain::values::{FinancialYear, Patch};

use crate::helpers::{TestDb, new_organisation, remote_need};

fn project(organisation_id: uuid::Uuid, title: &str, priority_ids: Vec<uuid::Uuid>) -> NewProject {
    NewProject {
        organisation_id,
        title: title.into(),
        summary: String::new(),
        description: String::new(),
        category: NeedCategory::CommunitySafety,
        place: Place { area_wide: true, ..Place::default() },
        beneficiaries: "Villagers".into(),
        ages: Default::default(),
        languages: vec![],
        schedule: Default::default(),
        status: ProjectStatus::Proposed,
        priority_ids,
    }
}

#[tokio::test]
async fn projects_take_active_priorities_and_their_own_organisations_needs() {
    let t = TestDb::new().await;
    let officer = t.person("Officer").await;
    let partnership = organisations::create(
        &t.db,
        &officer,
        new_organisation("Carlford and Fynn Valley", OrganisationKind::CommunityPartnership),
    )
    .await
    .expect("a partnership");
    let priority = priorities::create(
        &t.db,
        &officer,
        NewPriority {
            partnership_id: partnership.id,
            financial_year: FinancialYear::parse("financialYear", "2026-27").expect("a year"),
            title: "Speeding through villages".into(),
            description: String::new(),
            agreed_on: domain::now().date_naive(),
            workshop: "Annual workshop".into(),
            evidence: vec![],
        },
    )
    .await
    .expect("a priority");
    let lead = t.person("Lead").await;
    let watch = t.organisation(&lead).await;
    let stranger = t.person("Stranger").await;

    let refused = projects::create(&t.db, &stranger, project(watch.0, "Speed watch", vec![priority.id])).await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    let made = projects::create(&t.db, &lead, project(watch.0, "Speed watch", vec![priority.id, priority.id]))
        .await
        .expect("made");
    assert_eq!(priorities::tags_of(&t.db, priorities::Tagged::Project, made.id).await.expect("tags"), [priority.id]);

    // Retired: it stays on the project, and nothing new takes it.
    let retire = PriorityPatch { status: Some(PriorityStatus::Retired), ..PriorityPatch::default() };
    priorities::update(&t.db, &officer, priority.id, retire).await.expect("retired");
    let kept = ProjectPatch {
        priority_ids: Some(vec![priority.id]),
        status: Some(ProjectStatus::Active),
        ..ProjectPatch::default()
    };
    projects::update(&t.db, &lead, made.id, kept).await.expect("kept");
    let newly = projects::create(&t.db, &lead, project(watch.0, "Another watch", vec![priority.id])).await;
    assert!(matches!(newly, Err(AppError::BadInput { ref field, .. }) if field == "input.priorityIds[0]"));

    // A need joins only its own organisation's project.
    let other_lead = t.person("Other").await;
    let other = t.organisation(&other_lead).await;
    let foreign = needs::NewNeed {
        project_id: Some(made.id),
        ..remote_need(OrganisationId(other.0), "Borrowed", NeedCategory::Other, 1)
    };
    let refused = needs::create(&t.db, &other_lead, foreign).await;
    assert!(matches!(refused, Err(AppError::BadInput { ref field, .. }) if field == "input.projectId"));
    let need =
        needs::create(&t.db, &lead, remote_need(watch, "Volunteers", NeedCategory::Other, 2)).await.expect("a need");
    let joined = NeedPatch { project_id: Patch::Set(made.id), ..NeedPatch::default() };
    let need = needs::update(&t.db, &lead, domain::needs::NeedId(need.id), joined).await.expect("joined");
    assert_eq!(need.project_id, Some(made.id));

    // The partnership's projects: those addressing its priorities.
    let filter = ProjectFilter { partnership_id: Some(partnership.id), ..ProjectFilter::default() };
    let (rows, _) = projects::list(&t.db, &filter, &Page::first(10)).await.expect("listed");
    let titles: Vec<&str> = rows.rows.iter().map(|(_, p)| p.title.as_str()).collect();
    assert_eq!(titles, ["Speed watch"]);
}
