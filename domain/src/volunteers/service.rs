//! Volunteer profile rules.
use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, TransactionSession, TransactionTrait};
use uuid::Uuid;

use super::{DbsLevel, find_for_user};
use crate::access::AuthUser;
use crate::error::{AppError, AppResult};
use crate::needs::NeedCategory;
use crate::now;
use crate::values::{Coordinates, Postcode, RadiusKm, TimeWindow, bounded_text, tags};
use entity::volunteer_profile;

/// A volunteer's whole profile, as they give it (each upsert replaces the last).
#[derive(Clone, Debug)]
pub struct VolunteerProfileDraft {
    pub display_name: String,
    pub bio: String,
    pub skills: Vec<String>,
    pub interests: Vec<NeedCategory>,
    pub languages: Vec<String>,
    pub postcode: Option<Postcode>,
    pub location: Option<Coordinates>,
    pub travel_radius_km: f64,
    pub availability: Vec<TimeWindow>,
    pub dbs_check: Option<DbsCheckDraft>,
}

/// What a volunteer says of their DBS check (never the certificate's content).
#[derive(Clone, Copy, Debug)]
pub struct DbsCheckDraft {
    pub level: DbsLevel,
    pub issued_on: Option<NaiveDate>,
    pub recheck_by: Option<NaiveDate>,
    pub on_update_service: bool,
}

struct Dbs {
    level: DbsLevel,
    issued_on: Option<chrono::NaiveDate>,
    recheck_by: Option<chrono::NaiveDate>,
    on_update_service: bool,
}

fn parse_dbs(input: Option<&DbsCheckDraft>) -> AppResult<Dbs> {
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
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    input: VolunteerProfileDraft,
) -> AppResult<volunteer_profile::Model> {
    let display_name = bounded_text("input.displayName", &input.display_name, 1, 80)?;
    let bio = bounded_text("input.bio", &input.bio, 0, 2000)?;
    let skills = tags("input.skills", &input.skills, 30)?;
    let languages = tags("input.languages", &input.languages, 10)?;
    let mut interests: Vec<&str> = input.interests.iter().map(|c| c.as_db()).collect();
    interests.sort_unstable();
    interests.dedup();
    let postcode = input.postcode.map(Postcode::into_inner);
    let location = input.location;
    let radius = RadiusKm::new("input.travelRadiusKm", input.travel_radius_km)?;
    let availability = input.availability;
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
        None => {
            // The profile and its calendar feed, together.
            let txn = db.begin().await?;
            let profile = model.insert(&txn).await?;
            super::calendar::create(&txn, profile.id).await?;
            txn.commit().await?;
            profile
        }
    })
}
