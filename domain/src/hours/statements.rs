//! Statements of volunteering: a record of a volunteer's approved hours and roles (organisation, role, dates,
//! hours) between two days, that they can give an employer. It shows only what they chose: the span, the needs
//! (all with approved hours in it, or those they name) and the name to print; nothing else of theirs (no contact
//! details, no place, no notes). It is fixed when made, public at `/statements/{code}` (32 random bytes, so not
//! guessable), and the volunteer can revoke it, after which the address says so.
use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use chrono::NaiveDate;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::HoursStatus;
use crate::access::AuthUser;
use crate::error::{AppError, AppResult};
use crate::now;
use crate::values::bounded_text;
use entity::{hours_entry, need, organisation, volunteering_statement};

/// The longest span one statement covers: ten years.
pub const MAX_SPAN_DAYS: i64 = 10 * 366;

/// One role on a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub organisation: String,
    pub role: String,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub minutes: i64,
}

/// `createVolunteeringStatement`'s command.
#[derive(Clone, Debug)]
pub struct NewStatement {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only these needs' hours; `None`: every need with approved hours in the span.
    pub need_ids: Option<Vec<Uuid>>,
    /// The name to print; `None`: the profile's display name.
    pub name: Option<String>,
}

pub fn lines(statement: &volunteering_statement::Model) -> Vec<Line> {
    serde_json::from_value(statement.lines.clone()).unwrap_or_default()
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    input: NewStatement,
) -> AppResult<volunteering_statement::Model> {
    let profile = crate::volunteers::require_own(db, actor).await?;
    if input.to < input.from {
        return Err(AppError::bad_input("input.to", "must not be before from"));
    }
    if (input.to - input.from).num_days() > MAX_SPAN_DAYS {
        return Err(AppError::bad_input("input.to", "must be within ten years of from"));
    }
    let name = match input.name {
        Some(name) => bounded_text("input.name", &name, 2, 120)?,
        None => profile.display_name.clone(),
    };
    use hours_entry::Column as C;
    let mut select = hours_entry::Entity::find()
        .filter(C::VolunteerId.eq(profile.id))
        .filter(C::Status.eq(HoursStatus::Approved.as_db()))
        .filter(C::WorkedOn.gte(input.from))
        .filter(C::WorkedOn.lte(input.to));
    if let Some(ids) = &input.need_ids {
        if ids.is_empty() || ids.len() > 100 {
            return Err(AppError::bad_input("input.needIds", "name between 1 and 100 needs, or leave it out"));
        }
        select = select.filter(C::NeedId.is_in(ids.iter().copied()));
    }
    let entries = select.all(db).await?;
    if let Some(ids) = &input.need_ids {
        let with_hours: HashSet<Uuid> = entries.iter().map(|e| e.need_id).collect();
        if let Some(i) = ids.iter().position(|id| !with_hours.contains(id)) {
            return Err(AppError::bad_input(
                format!("input.needIds[{i}]"),
                "has no approved hours of yours in the span",
            ));
        }
    }
    if entries.is_empty() {
        return Err(AppError::bad_input("input.from", "you have no approved hours between these days"));
    }
    let lines = summarise(db, &entries).await?;
    let total: i64 = lines.iter().map(|l| l.minutes).sum();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Ok(volunteering_statement::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)),
        volunteer_id: Set(profile.id),
        name: Set(name),
        from_date: Set(input.from),
        to_date: Set(input.to),
        lines: Set(serde_json::to_value(&lines).map_err(AppError::internal)?),
        total_minutes: Set(total),
        created_at: Set(now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// The entries as one line per need: its organisation's name, its title, the first and last day, the minutes;
/// largest first. Two statements.
async fn summarise(db: &impl ConnectionTrait, entries: &[hours_entry::Model]) -> AppResult<Vec<Line>> {
    let need_ids: HashSet<Uuid> = entries.iter().map(|e| e.need_id).collect();
    let needs: HashMap<Uuid, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let organisation_ids: HashSet<Uuid> = needs.values().map(|n| n.organisation_id).collect();
    let organisations: HashMap<Uuid, String> = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(organisation_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let mut per_need: BTreeMap<Uuid, (NaiveDate, NaiveDate, i64)> = BTreeMap::new();
    for e in entries {
        let slot = per_need.entry(e.need_id).or_insert((e.worked_on, e.worked_on, 0));
        slot.0 = slot.0.min(e.worked_on);
        slot.1 = slot.1.max(e.worked_on);
        slot.2 += i64::from(e.minutes);
    }
    let mut lines: Vec<Line> = per_need
        .into_iter()
        .filter_map(|(need_id, (first, last, minutes))| {
            let need = needs.get(&need_id)?;
            Some(Line {
                organisation: organisations.get(&need.organisation_id).cloned().unwrap_or_default(),
                role: need.title.clone(),
                first_date: first,
                last_date: last,
                minutes,
            })
        })
        .collect();
    lines.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.first_date.cmp(&b.first_date)).then(a.role.cmp(&b.role)));
    Ok(lines)
}

/// The volunteer revokes one of their statements: its address then says it was withdrawn.
pub async fn revoke(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid) -> AppResult<volunteering_statement::Model> {
    let statement = volunteering_statement::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("statement"))?;
    let own = crate::volunteers::find_for_user(db, actor.id).await?;
    // Someone else's is not found, as it is not theirs to know of.
    if own.is_none_or(|p| p.id != statement.volunteer_id) {
        return Err(AppError::not_found("statement"));
    }
    let result = volunteering_statement::Entity::update_many()
        .col_expr(volunteering_statement::Column::RevokedAt, Expr::value(now()))
        .filter(volunteering_statement::Column::Id.eq(id))
        .filter(volunteering_statement::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::conflict("this statement is revoked already"));
    }
    volunteering_statement::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("statement"))
}

/// The statement at `code`, revoked or not.
pub async fn by_code(db: &impl ConnectionTrait, code: &str) -> AppResult<Option<volunteering_statement::Model>> {
    // Codes are 43 characters of base64url; anything else is no statement, without asking the database.
    if code.len() != 43 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Ok(None);
    }
    Ok(volunteering_statement::Entity::find().filter(volunteering_statement::Column::Code.eq(code)).one(db).await?)
}

/// A volunteer's statements, newest first.
pub async fn of_volunteer(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
) -> AppResult<Vec<volunteering_statement::Model>> {
    Ok(volunteering_statement::Entity::find()
        .filter(volunteering_statement::Column::VolunteerId.eq(volunteer_id))
        .order_by_desc(volunteering_statement::Column::CreatedAt)
        .all(db)
        .await?)
}
