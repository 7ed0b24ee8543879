//! A partnership's priorities: what it agreed, at a named workshop on a given day, to work on in a financial year,
//! and the evidence behind it (data, local insight, consultation). Its seat managers record and update them; they
//! are public, as the partnership is.
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::service::{self, require_seat_manager};
use crate::access::AuthUser;
use crate::error::{AppError, AppResult};
use crate::now;
use crate::values::{FinancialYear, bounded_text};
use entity::priority;

crate::db_enum! {
    /// Where a priority stands.
    pub enum PriorityStatus {
        /// Being worked on.
        Active => "ACTIVE",
        /// Achieved.
        Met => "MET",
        /// Set aside.
        Retired => "RETIRED",
    }
}

crate::db_enum! {
    /// What a piece of evidence is.
    pub enum EvidenceKind {
        /// Figures (deprivation, crime, health).
        Data => "DATA",
        /// What local people and groups know.
        LocalInsight => "LOCAL_INSIGHT",
        /// What a consultation found.
        Consultation => "CONSULTATION",
    }
}

/// Evidence behind a priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub summary: String,
    pub url: Option<String>,
}

pub struct NewPriority {
    pub partnership_id: Uuid,
    pub financial_year: FinancialYear,
    pub title: String,
    pub description: String,
    pub agreed_on: NaiveDate,
    pub workshop: String,
    pub evidence: Vec<Evidence>,
}

/// A change to a priority; `None` keeps a field.
#[derive(Default)]
pub struct PriorityPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<PriorityStatus>,
    pub evidence: Option<Vec<Evidence>>,
}

/// A workshop's evidence is a few items, not a library.
const MAX_EVIDENCE: usize = 20;

fn evidence_json(evidence: &[Evidence]) -> AppResult<Value> {
    if evidence.len() > MAX_EVIDENCE {
        return Err(AppError::bad_input("input.evidence", format!("at most {MAX_EVIDENCE} items")));
    }
    let items = evidence
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let summary = bounded_text(&format!("input.evidence[{i}].summary"), &e.summary, 1, 500)?;
            let url = e
                .url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| {
                    let lower = u.to_ascii_lowercase();
                    let web = lower.starts_with("https://") || lower.starts_with("http://");
                    if web && u.len() <= 500 && !u.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        Ok(u.to_owned())
                    } else {
                        Err(AppError::bad_input(
                            format!("input.evidence[{i}].url"),
                            "must be a web address (https://…)",
                        ))
                    }
                })
                .transpose()?;
            Ok(json!({ "kind": e.kind.as_db(), "summary": summary, "url": url }))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Value::Array(items))
}

/// A priority's evidence, as stored.
pub fn evidence_of(priority: &priority::Model) -> Vec<Evidence> {
    let items = priority.evidence.as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            Some(Evidence {
                kind: EvidenceKind::from_db(item.get("kind")?.as_str()?)?,
                summary: item.get("summary")?.as_str()?.to_owned(),
                url: item.get("url").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect()
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<priority::Model> {
    priority::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("priority"))
}

/// Records a priority a partnership agreed.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(db: &impl ConnectionTrait, actor: &AuthUser, new: NewPriority) -> AppResult<priority::Model> {
    let partnership = service::get(db, new.partnership_id).await?;
    require_seat_manager(db, actor, &partnership).await?;
    let title = bounded_text("input.title", &new.title, 3, 140)?;
    let description = bounded_text("input.description", &new.description, 0, 2000)?;
    let workshop = bounded_text("input.workshop", &new.workshop, 1, 140)?;
    if new.agreed_on > now().date_naive() {
        return Err(AppError::bad_input("input.agreedOn", "must not be in the future: a priority is agreed first"));
    }
    let evidence = evidence_json(&new.evidence)?;
    let now = now();
    Ok(priority::ActiveModel {
        id: Set(Uuid::now_v7()),
        partnership_id: Set(partnership.organisation.id),
        financial_year: Set(new.financial_year.name()),
        title: Set(title),
        description: Set(description),
        agreed_on: Set(new.agreed_on),
        workshop: Set(workshop),
        evidence: Set(evidence),
        status: Set(PriorityStatus::Active.as_db().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Changes a priority: its words, its evidence, or its status (met, retired, active again).
#[tracing::instrument(skip_all, fields(actor = %actor.id, priority = %id))]
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    id: Uuid,
    patch: PriorityPatch,
) -> AppResult<priority::Model> {
    let current = get(db, id).await?;
    let partnership = service::get(db, current.partnership_id).await?;
    require_seat_manager(db, actor, &partnership).await?;
    let mut active = current.into_active_model();
    if let Some(title) = &patch.title {
        active.title = Set(bounded_text("input.title", title, 3, 140)?);
    }
    if let Some(description) = &patch.description {
        active.description = Set(bounded_text("input.description", description, 0, 2000)?);
    }
    if let Some(status) = patch.status {
        active.status = Set(status.as_db().to_owned());
    }
    if let Some(evidence) = &patch.evidence {
        active.evidence = Set(evidence_json(evidence)?);
    }
    active.updated_at = Set(now());
    Ok(active.update(db).await?)
}

/// What priorities are tagged onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tagged {
    Project,
    Need,
}

impl Tagged {
    fn table(self) -> &'static str {
        match self {
            Self::Project => "project_priorities",
            Self::Need => "need_priorities",
        }
    }

    fn owner(self) -> &'static str {
        match self {
            Self::Project => "project_id",
            Self::Need => "need_id",
        }
    }
}

/// A project or need addresses a handful of priorities, not a partnership's whole list.
pub const MAX_TAGGED: usize = 10;

/// The priorities a project or need addresses, as given: each must exist, and any newly tagged must be ACTIVE (a
/// met or retired priority stays on what already had it). Duplicates count once.
pub async fn check_tags(
    db: &impl ConnectionTrait,
    field: &str,
    ids: &[Uuid],
    already: &[Uuid],
) -> AppResult<Vec<Uuid>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut wanted: Vec<Uuid> = Vec::with_capacity(ids.len());
    for id in ids {
        if !wanted.contains(id) {
            wanted.push(*id);
        }
    }
    if wanted.len() > MAX_TAGGED {
        return Err(AppError::bad_input(field, format!("at most {MAX_TAGGED} priorities")));
    }
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let found = priority::Entity::find().filter(priority::Column::Id.is_in(wanted.clone())).all(db).await?;
    for (i, id) in wanted.iter().enumerate() {
        match found.iter().find(|p| p.id == *id) {
            None => return Err(AppError::bad_input(format!("{field}[{i}]"), "no such priority")),
            Some(p) if p.status != PriorityStatus::Active.as_db() && !already.contains(id) => {
                return Err(AppError::bad_input(
                    format!("{field}[{i}]"),
                    format!("“{}” is no longer an active priority", p.title),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(wanted)
}

/// The priorities tagged onto a project or need.
pub async fn tags_of(db: &impl ConnectionTrait, tagged: Tagged, owner: Uuid) -> AppResult<Vec<Uuid>> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let select = Query::select()
        .column(Alias::new("priority_id"))
        .from(Alias::new(tagged.table()))
        .and_where(Expr::col(Alias::new(tagged.owner())).eq(owner))
        .to_owned();
    let rows = db.query_all(&select).await?;
    Ok(rows.iter().map(|r| r.try_get_by_index::<Uuid>(0)).collect::<Result<_, _>>()?)
}

/// Makes a project's or need's priorities exactly `ids` (checked by `check_tags`): removes the others, adds the
/// new, keeps when the ones already there were tagged.
pub async fn set_tags(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    owner: Uuid,
    ids: &[Uuid],
    already: &[Uuid],
) -> AppResult<()> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let gone: Vec<Uuid> = already.iter().filter(|id| !ids.contains(id)).copied().collect();
    if !gone.is_empty() {
        let delete = Query::delete()
            .from_table(Alias::new(tagged.table()))
            .and_where(Expr::col(Alias::new(tagged.owner())).eq(owner))
            .and_where(Expr::col(Alias::new("priority_id")).is_in(gone))
            .to_owned();
        db.execute(&delete).await?;
    }
    let new: Vec<Uuid> = ids.iter().filter(|id| !already.contains(id)).copied().collect();
    if !new.is_empty() {
        let at = now();
        let mut insert = Query::insert();
        insert.into_table(Alias::new(tagged.table())).columns([
            Alias::new(tagged.owner()),
            Alias::new("priority_id"),
            Alias::new("created_at"),
        ]);
        for id in new {
            insert
                .values([owner.into(), id.into(), at.into()])
                .map_err(|e| AppError::internal(format!("tagging priorities: {e}")))?;
        }
        db.execute(&insert).await?;
    }
    Ok(())
}
