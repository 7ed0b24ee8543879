//! DBS checks verified by an organisation. A member records that they saw a volunteer's certificate or checked the
//! DBS Update Service: who, when, how and at what level, never the certificate's content (its number, its
//! disclosures). A need may require such a check (`safeguarding_verified`): then only volunteers whose check its own
//! organisation verified, at the need's level, within the last three years, are matched to it or accepted on it.
//! Its own organisation, because anyone can register an organisation: another's word is not evidence.
use std::collections::{HashMap, HashSet};

use chrono::{Months, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionSession,
    TransactionTrait,
};
use uuid::Uuid;

use super::DbsLevel;
use crate::access::{self, AuthUser};
use crate::error::{AppError, AppResult};
use crate::matching::scoring::dbs_rank;
use crate::now;
use entity::{dbs_verification, need};

/// How long a verification counts: three years, the recheck cycle most organisations working with children and
/// adults at risk keep (the Update Service keeps a certificate current, but someone must look again).
pub const VALID_FOR_MONTHS: u32 = 36;

crate::db_enum! {
    /// How the check was made.
    pub enum CheckMethod {
        /// A member saw the original certificate.
        CertificateSeen => "CERTIFICATE_SEEN",
        /// A member checked the certificate's status on the DBS Update Service.
        UpdateService => "UPDATE_SERVICE",
    }
}

/// `verifyDbsCheck`'s command.
#[derive(Clone, Debug)]
pub struct VerifyDbsCheck {
    pub volunteer_id: Uuid,
    /// The organisation that verifies; `None`: the one the member coordinates, if it is only one.
    pub organisation_id: Option<Uuid>,
    pub level: DbsLevel,
    pub checked_on: NaiveDate,
    pub method: CheckMethod,
}

/// The last day a check made on `checked_on` counts.
pub fn valid_until(checked_on: NaiveDate) -> NaiveDate {
    checked_on.checked_add_months(Months::new(VALID_FOR_MONTHS)).unwrap_or(NaiveDate::MAX)
}

fn counts(row: &dbs_verification::Model, level: DbsLevel, on: NaiveDate) -> bool {
    DbsLevel::from_db(&row.level).is_some_and(|l| dbs_rank(l) >= dbs_rank(level)) && valid_until(row.checked_on) >= on
}

/// The level a need's verified check must be at: its safeguarding level, and at least BASIC.
pub fn required_level(need: &need::Model) -> DbsLevel {
    let level = DbsLevel::from_db(&need.safeguarding).unwrap_or(DbsLevel::None);
    if level == DbsLevel::None { DbsLevel::Basic } else { level }
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, volunteer = %input.volunteer_id))]
pub async fn verify(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    input: VerifyDbsCheck,
) -> AppResult<dbs_verification::Model> {
    let organisation_id = match input.organisation_id {
        Some(id) => id,
        None => only_organisation(db, actor).await?,
    };
    access::require_coordinator(db, actor, organisation_id).await?;
    if input.level == DbsLevel::None {
        return Err(AppError::bad_input("input.level", "must be the level of the certificate seen"));
    }
    let today = now().date_naive();
    if input.checked_on > today {
        return Err(AppError::bad_input("input.checkedOn", "must not be in the future"));
    }
    if valid_until(input.checked_on) < today {
        return Err(AppError::bad_input("input.checkedOn", "is more than three years ago: check again"));
    }
    // Only someone who has applied to the organisation (and so shared their DBS status with it): an organisation
    // vouches for the people it works with, not for anyone it can name.
    if !access::applied_to_organisation(db, input.volunteer_id, organisation_id).await? {
        return Err(AppError::not_found("volunteer"));
    }
    let volunteer = entity::volunteer_profile::Entity::find_by_id(input.volunteer_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("volunteer"))?;
    let txn = db.begin().await?;
    // A record about someone's safeguarding status: the audit log says who made it.
    let detail = format!("DBS check at {} level verified", input.level.as_db().to_lowercase());
    crate::audit::record_changes(
        &txn,
        crate::audit::Actor::user(actor.id),
        &["volunteerProfile.dbsVerifications"],
        [(volunteer.user_id, detail)],
    )
    .await?;
    let made = dbs_verification::ActiveModel {
        id: Set(Uuid::now_v7()),
        volunteer_id: Set(input.volunteer_id),
        organisation_id: Set(organisation_id),
        verified_by: Set(Some(actor.id)),
        level: Set(input.level.as_db().to_owned()),
        checked_on: Set(input.checked_on),
        method: Set(input.method.as_db().to_owned()),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(made)
}

/// The one organisation the actor coordinates; BAD_USER_INPUT naming `input.organisationId` otherwise.
async fn only_organisation(db: &impl ConnectionTrait, actor: &AuthUser) -> AppResult<Uuid> {
    let coordinated = access::coordinated_organisations(db, actor).await?;
    match coordinated.as_slice() {
        [only] => Ok(*only),
        [] => Err(AppError::forbidden("only members of an organisation may verify a DBS check")),
        _ => Err(AppError::bad_input("input.organisationId", "say which of your organisations verified it")),
    }
}

/// Whether the organisation has verified the volunteer's check at `level`, valid on `on`.
pub async fn is_verified(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
    organisation_id: Uuid,
    level: DbsLevel,
    on: NaiveDate,
) -> AppResult<bool> {
    let rows = dbs_verification::Entity::find()
        .filter(dbs_verification::Column::VolunteerId.eq(volunteer_id))
        .filter(dbs_verification::Column::OrganisationId.eq(organisation_id))
        .all(db)
        .await?;
    Ok(rows.iter().any(|r| counts(r, level, on)))
}

/// Refuses to give a place on `need` to a volunteer without the verified check it requires.
pub async fn require_for(db: &impl ConnectionTrait, need: &need::Model, volunteer_id: Uuid) -> AppResult<()> {
    if !need.safeguarding_verified
        || is_verified(db, volunteer_id, need.organisation_id, required_level(need), now().date_naive()).await?
    {
        return Ok(());
    }
    Err(AppError::conflict(format!(
        "this need requires a DBS check at {} level verified by its organisation (verifyDbsCheck) first",
        required_level(need).as_db().to_lowercase()
    )))
}

/// Of all volunteers, those the organisation verified at `level`, valid on `on`: a need's eligible ones (one
/// statement).
pub async fn verified_by(
    db: &impl ConnectionTrait,
    organisation_id: Uuid,
    level: DbsLevel,
    on: NaiveDate,
) -> AppResult<HashSet<Uuid>> {
    let rows = dbs_verification::Entity::find()
        .filter(dbs_verification::Column::OrganisationId.eq(organisation_id))
        .all(db)
        .await?;
    Ok(rows.iter().filter(|r| counts(r, level, on)).map(|r| r.volunteer_id).collect())
}

/// Whether a volunteer with `verifications` may be matched to a need with `facts`, on `on`.
pub fn admits(
    facts: &crate::matching::scoring::NeedFacts,
    verifications: &[dbs_verification::Model],
    on: NaiveDate,
) -> bool {
    let Some(organisation) = facts.verified_by else { return true };
    let level = if facts.safeguarding == DbsLevel::None { DbsLevel::Basic } else { facts.safeguarding };
    verifications.iter().any(|r| r.organisation_id == organisation && counts(r, level, on))
}

/// Each volunteer's verifications, newest first, in one statement.
pub async fn of_volunteers(
    db: &impl ConnectionTrait,
    volunteer_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<dbs_verification::Model>>> {
    let rows = dbs_verification::Entity::find()
        .filter(dbs_verification::Column::VolunteerId.is_in(volunteer_ids.iter().copied()))
        .order_by_desc(dbs_verification::Column::CheckedOn)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<dbs_verification::Model>> = HashMap::new();
    for row in rows {
        out.entry(row.volunteer_id).or_default().push(row);
    }
    Ok(out)
}
