//! Volunteer profile rules.
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use super::{DbsCheckInput, DbsLevel, UpsertVolunteerProfileInput};
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::needs::TimeWindowInput;
use crate::now;
use crate::organisations::service::{parse_location, parse_postcode};
use crate::values::{RadiusKm, TimeWindow, bounded_text, tags};
use entity::volunteer_profile;

pub use domain::volunteers::{find_for_user, require_own};

struct Dbs {
    level: DbsLevel,
    issued_on: Option<chrono::NaiveDate>,
    recheck_by: Option<chrono::NaiveDate>,
    on_update_service: bool,
}

fn parse_dbs(input: Option<&DbsCheckInput>) -> AppResult<Dbs> {
    let Some(input) = input else {
        return Ok(Dbs { level: DbsLevel::None, issued_on: None, recheck_by: None, on_update_service: false });
    };
    if input.level == DbsLevel::None {
        return Ok(Dbs { level: DbsLevel::None, issued_on: None, recheck_by: None, on_update_service: false });
    }
    let issued_on =
        input.issued_on.ok_or_else(|| AppError::bad_input("input.dbsCheck.issuedOn", "is required for a DBS check"))?;
    if issued_on > Utc::now().date_naive() {
        return Err(AppError::bad_input("input.dbsCheck.issuedOn", "must not be in the future"));
    }
    if let Some(recheck) = input.recheck_by
        && recheck < issued_on
    {
        return Err(AppError::bad_input("input.dbsCheck.recheckBy", "must not be before the issue date"));
    }
    Ok(Dbs {
        level: input.level,
        issued_on: Some(issued_on),
        recheck_by: input.recheck_by,
        on_update_service: input.on_update_service,
    })
}

fn json_list(values: impl IntoIterator<Item = String>) -> serde_json::Value {
    serde_json::Value::Array(values.into_iter().map(serde_json::Value::String).collect())
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn upsert(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    input: UpsertVolunteerProfileInput,
) -> AppResult<volunteer_profile::Model> {
    let display_name = bounded_text("input.displayName", &input.display_name, 1, 80)?;
    let bio = bounded_text("input.bio", &input.bio, 0, 2000)?;
    let skills = tags("input.skills", &input.skills, 30)?;
    let languages = tags("input.languages", &input.languages, 10)?;
    let mut interests: Vec<&str> = input.interests.iter().map(|c| c.as_db()).collect();
    interests.sort_unstable();
    interests.dedup();
    let postcode = parse_postcode(input.postcode.as_deref())?;
    let location = parse_location(input.location.as_ref())?;
    let radius = RadiusKm::new("input.travelRadiusKm", input.travel_radius_km)?;
    let availability = TimeWindowInput::parse_all("input.availability", &input.availability)?;
    let dbs = parse_dbs(input.dbs_check.as_ref())?;

    let existing = find_for_user(db, actor.id).await?;
    let now = now();
    let mut model = volunteer_profile::ActiveModel {
        id: Set(existing.as_ref().map(|p| p.id).unwrap_or_else(Uuid::now_v7)),
        user_id: Set(actor.id),
        display_name: Set(display_name),
        bio: Set(bio),
        skills: Set(json_list(skills)),
        interests: Set(json_list(interests.into_iter().map(str::to_owned))),
        languages: Set(json_list(languages)),
        postcode: Set(postcode),
        lat: Set(location.map(|l| l.lat())),
        lng: Set(location.map(|l| l.lng())),
        travel_radius_km: Set(radius.km()),
        availability: Set(TimeWindow::to_json(&availability)),
        availability_mask: Set(TimeWindow::week_mask(&availability)),
        dbs_level: Set(dbs.level.as_db().to_owned()),
        dbs_issued_on: Set(dbs.issued_on),
        dbs_recheck_by: Set(dbs.recheck_by),
        dbs_update_service: Set(dbs.on_update_service),
        created_at: Set(existing.as_ref().map(|p| p.created_at).unwrap_or(now)),
        updated_at: Set(now),
        deleted_at: sea_orm::ActiveValue::NotSet,
    };
    Ok(match existing {
        Some(_) => {
            model.created_at = sea_orm::ActiveValue::NotSet;
            model.update(db).await?
        }
        None => model.insert(db).await?,
    })
}
