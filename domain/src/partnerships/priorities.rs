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
