//! Personal-data rights (UK GDPR): what Pitch In holds about a person, as one JSON document they can take away.
//!
//! The export is everything stored about the signed-in user and by them: their account (never the password hash),
//! volunteer profile (exact place and DBS check included, since it is theirs), memberships, applications with the
//! needs they were for, their own offers, and their sign-in sessions (when, not the tokens, which are stored only
//! as hashes). Others' data is not in it, even where it touches theirs.
//!
//! Erasure (`deleteMyAccount`, and the retention rule for accounts never verified) removes personal data and keeps
//! what organisations' histories need: the account and volunteer profile stay as anonymous tombstones ("Deleted
//! user", no email, place, times, skills or DBS status), so the applications they made still count, with their
//! messages erased and any live one withdrawn (its place given back). Memberships, offers, sessions, email
//! verifications and stored idempotent responses go. The audit log keeps the account's id.
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionSession, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access::AuthUser;
use crate::applications::ApplicationStatus;
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::organisations::MemberRole;
use entity::{
    application, email_verification, idempotency_key, membership, need, offer, organisation, refresh_token, user,
    volunteer_profile,
};

/// The signed-in user erases their own account, proving it is them with their password.
pub async fn delete_account(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    password: String,
) -> AppResult<Erased> {
    let account = user::Entity::find_by_id(actor.id).one(db).await?.ok_or_else(AppError::unauthenticated)?;
    if !crate::users::password::verify(password, Some(account.password_hash)).await? {
        return Err(AppError::Unauthenticated("the password is incorrect".into()));
    }
    erase(db, actor.id, Actor::user(actor.id), "deleted by the account holder").await
}

/// What an erasure did.
#[derive(Debug)]
pub struct Erased {
    pub erased_at: DateTime<Utc>,
    pub applications_kept: i32,
    pub applications_withdrawn: i32,
}

/// Erases one account's personal data, in one transaction (see the module's comment).
#[tracing::instrument(skip_all, fields(user = %user_id))]
pub async fn erase(
    db: &(impl ConnectionTrait + TransactionTrait),
    user_id: Uuid,
    by: Actor,
    reason: &str,
) -> AppResult<Erased> {
    erase_if(db, user_id, by, reason, false).await
}

/// `erase`, and with `only_unverified` only if the address is still unverified when the transaction reads it (the
/// owner may verify while the retention rule runs).
async fn erase_if(
    db: &(impl ConnectionTrait + TransactionTrait),
    user_id: Uuid,
    by: Actor,
    reason: &str,
    only_unverified: bool,
) -> AppResult<Erased> {
    let txn = db.begin().await?;
    let account = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .filter(|u| u.deleted_at.is_none() && !(only_unverified && u.email_verified_at.is_some()))
        .ok_or_else(|| AppError::not_found("account"))?;
    let owned: Vec<Uuid> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Role.eq(MemberRole::Owner.as_db()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| m.organisation_id)
        .collect();
    if !owned.is_empty() && txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Two co-owners erasing themselves at once must not both see the other as the remaining owner: the second
        // waits here for the first to commit, then counts again. (SQLite lets one writer at a time through.)
        organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(owned.iter().copied()))
            .order_by_asc(organisation::Column::Id)
            .lock_exclusive()
            .all(&txn)
            .await?;
    }
    for organisation_id in owned {
        let other_owners = membership::Entity::find()
            .filter(membership::Column::OrganisationId.eq(organisation_id))
            .filter(membership::Column::Role.eq(MemberRole::Owner.as_db()))
            .filter(membership::Column::UserId.ne(user_id))
            .count(&txn)
            .await?;
        if other_owners == 0 {
            let name = organisation::Entity::find_by_id(organisation_id).one(&txn).await?.map(|o| o.name);
            return Err(AppError::conflict(format!(
                "you are the only owner of {}: make someone else an owner first",
                name.unwrap_or_else(|| "an organisation".into())
            )));
        }
    }
    let now = crate::now();
    let (mut kept, mut withdrawn) = (0, 0);
    if let Some(profile) =
        volunteer_profile::Entity::find().filter(volunteer_profile::Column::UserId.eq(user_id)).one(&txn).await?
    {
        let applications =
            application::Entity::find().filter(application::Column::VolunteerId.eq(profile.id)).all(&txn).await?;
        for a in &applications {
            let live = ApplicationStatus::from_db(&a.status).is_some_and(|s| ApplicationStatus::LIVE.contains(&s));
            if live {
                crate::applications::service::end(&txn, a, ApplicationStatus::Withdrawn).await?;
                withdrawn += 1;
            }
        }
        kept = i32::try_from(applications.len()).unwrap_or(i32::MAX);
        application::Entity::update_many()
            .col_expr(application::Column::Message, Expr::value(""))
            .col_expr(application::Column::UpdatedAt, Expr::value(now))
            .filter(application::Column::VolunteerId.eq(profile.id))
            .exec(&txn)
            .await?;
        offer::Entity::delete_many().filter(offer::Column::VolunteerId.eq(profile.id)).exec(&txn).await?;
        // The calendar feed's URL stops working with the account.
        entity::calendar_feed::Entity::delete_by_id(profile.id).exec(&txn).await?;
        // Organisations' records of their DBS check are about them; sign-ups for sessions to come went with their
        // applications (`applications::service::end`).
        entity::dbs_verification::Entity::delete_many()
            .filter(entity::dbs_verification::Column::VolunteerId.eq(profile.id))
            .exec(&txn)
            .await?;
        // Sign-ups for sessions to come go; attendance already given stays in the organisations' records.
        entity::session_signup::Entity::delete_many()
            .filter(entity::session_signup::Column::VolunteerId.eq(profile.id))
            .filter(entity::session_signup::Column::StartsAt.gt(now))
            .exec(&txn)
            .await?;
        // Statements print their name: they go (their addresses then say not found).
        entity::volunteering_statement::Entity::delete_many()
            .filter(entity::volunteering_statement::Column::VolunteerId.eq(profile.id))
            .exec(&txn)
            .await?;
        // Their hours stay in the organisations' totals, without their words.
        entity::hours_entry::Entity::update_many()
            .col_expr(entity::hours_entry::Column::Note, Expr::value(""))
            .filter(entity::hours_entry::Column::VolunteerId.eq(profile.id))
            .exec(&txn)
            .await?;
        let empty = json!([]);
        let mut tombstone: volunteer_profile::ActiveModel = profile.into();
        tombstone.display_name = Set("Deleted volunteer".into());
        tombstone.bio = Set(String::new());
        tombstone.skills = Set(empty.clone());
        tombstone.interests = Set(empty.clone());
        tombstone.languages = Set(empty.clone());
        tombstone.postcode = Set(None);
        tombstone.lat = Set(None);
        tombstone.lng = Set(None);
        tombstone.travel_radius_km = Set(0.0);
        tombstone.availability = Set(empty);
        tombstone.availability_mask = Set(0);
        tombstone.dbs_level = Set(crate::volunteers::DbsLevel::None.as_db().to_owned());
        tombstone.dbs_issued_on = Set(None);
        tombstone.dbs_recheck_by = Set(None);
        tombstone.dbs_update_service = Set(false);
        // The matching index reads changed rows by this stamp, and drops erased ones.
        tombstone.updated_at = Set(now);
        tombstone.deleted_at = Set(Some(now));
        tombstone.update(&txn).await?;
    }
    membership::Entity::delete_many().filter(membership::Column::UserId.eq(user_id)).exec(&txn).await?;
    // A seat on a community partnership is a named person's: it goes with them.
    entity::partnership_member::Entity::delete_many()
        .filter(entity::partnership_member::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    // So is a place on a fund's panel (and a ward budget, which goes with the seat: `funding::funds::decides`).
    entity::fund_decider::Entity::delete_many()
        .filter(entity::fund_decider::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    // Pledges stay (the campaigns' totals are public giving) but no longer name them or carry their words.
    entity::pledge::Entity::update_many()
        .col_expr(entity::pledge::Column::DisplayName, Expr::value("Deleted user"))
        .col_expr(entity::pledge::Column::Anonymous, Expr::value(true))
        .col_expr(entity::pledge::Column::Message, Expr::value(""))
        .filter(entity::pledge::Column::BackerId.eq(user_id))
        .exec(&txn)
        .await?;
    refresh_token::Entity::delete_many().filter(refresh_token::Column::UserId.eq(user_id)).exec(&txn).await?;
    email_verification::Entity::delete_many().filter(email_verification::Column::UserId.eq(user_id)).exec(&txn).await?;
    // Messages waiting for them would name their needs and hours to an address that is gone.
    entity::notification::Entity::delete_many()
        .filter(entity::notification::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    entity::notification_preference::Entity::delete_by_id(user_id).exec(&txn).await?;
    // Stored responses of the user's retried requests hold their data.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Principal.eq(format!("user:{user_id}")))
        .exec(&txn)
        .await?;
    let mut tombstone: user::ActiveModel = account.into();
    tombstone.email = Set(format!("erased-{user_id}@erased.invalid"));
    tombstone.password_hash = Set("erased".into());
    tombstone.display_name = Set("Deleted user".into());
    tombstone.email_verified_at = Set(None);
    tombstone.deleted_at = Set(Some(now));
    tombstone.sessions_valid_from = Set(Some(now));
    tombstone.updated_at = Set(now);
    tombstone.update(&txn).await?;
    // Their live connections close once the erasure commits.
    crate::live::signal(&txn, crate::live::Signal::SignedOut(user_id, now.timestamp_millis())).await?;
    audit::record(&txn, by, AuditAction::Erased, Some(user_id), &["user", "volunteerProfile"], reason).await?;
    txn.commit().await?;
    Ok(Erased { erased_at: now, applications_kept: kept, applications_withdrawn: withdrawn })
}

/// The retention rule: accounts whose email was never verified within `after` of registering are erased (the
/// address may not even be theirs). Accounts that are the only owner of an organisation are kept and logged, for an
/// admin to resolve. Returns how many were erased.
pub async fn erase_stale_unverified(
    db: &(impl ConnectionTrait + TransactionTrait),
    after: TimeDelta,
) -> AppResult<usize> {
    let cutoff = crate::now() - after;
    let stale: Vec<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::EmailVerifiedAt.is_null())
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::CreatedAt.lt(cutoff))
        .order_by_asc(user::Column::CreatedAt)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    let mut erased = 0;
    for id in stale {
        let reason = format!("retention: email not verified within {} days", after.num_days());
        match erase_if(db, id, Actor::PLATFORM, &reason, true).await {
            Ok(_) => erased += 1,
            Err(AppError::Conflict(why)) => tracing::warn!(user = %id, %why, "stale unverified account kept"),
            // Verified or erased meanwhile.
            Err(AppError::NotFound(_)) => {}
            // The next run tries again; one account's failure does not stop the others.
            Err(other) => tracing::warn!(user = %id, error = ?other, "could not erase a stale unverified account"),
        }
    }
    Ok(erased)
}

/// The export for `actor`.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn export(db: &impl ConnectionTrait, actor: &AuthUser) -> AppResult<Value> {
    let account = user::Entity::find_by_id(actor.id).one(db).await?.ok_or_else(AppError::unauthenticated)?;
    let profile =
        volunteer_profile::Entity::find().filter(volunteer_profile::Column::UserId.eq(actor.id)).one(db).await?;
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(actor.id))
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?;
    let seats = entity::partnership_member::Entity::find()
        .filter(entity::partnership_member::Column::UserId.eq(actor.id))
        .order_by_asc(entity::partnership_member::Column::CreatedAt)
        .all(db)
        .await?;
    let org_ids: Vec<Uuid> =
        memberships.iter().map(|m| m.organisation_id).chain(seats.iter().map(|s| s.partnership_id)).collect();
    let organisations = organisation::Entity::find().filter(organisation::Column::Id.is_in(org_ids)).all(db).await?;
    let org_name = |id: Uuid| organisations.iter().find(|o| o.id == id).map(|o| o.name.clone());

    let (applications, needs, offers) = match &profile {
        Some(p) => {
            let applications = application::Entity::find()
                .filter(application::Column::VolunteerId.eq(p.id))
                .order_by_asc(application::Column::CreatedAt)
                .all(db)
                .await?;
            let need_ids: Vec<Uuid> = applications.iter().map(|a| a.need_id).collect();
            let needs = need::Entity::find().filter(need::Column::Id.is_in(need_ids)).all(db).await?;
            let offers = offer::Entity::find()
                .filter(offer::Column::VolunteerId.eq(p.id))
                .order_by_asc(offer::Column::CreatedAt)
                .all(db)
                .await?;
            (applications, needs, offers)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let (attendance, statements) = match &profile {
        Some(p) => (
            entity::attendance::Entity::find()
                .filter(entity::attendance::Column::VolunteerId.eq(p.id))
                .order_by_asc(entity::attendance::Column::StartsAt)
                .all(db)
                .await?,
            crate::hours::statements::of_volunteer(db, p.id).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let (verifications, signups, hours) = match &profile {
        Some(p) => (
            crate::volunteers::verification::of_volunteers(db, &[p.id]).await?.remove(&p.id).unwrap_or_default(),
            entity::session_signup::Entity::find()
                .filter(entity::session_signup::Column::VolunteerId.eq(p.id))
                .order_by_asc(entity::session_signup::Column::StartsAt)
                .all(db)
                .await?,
            entity::hours_entry::Entity::find()
                .filter(entity::hours_entry::Column::VolunteerId.eq(p.id))
                .order_by_asc(entity::hours_entry::Column::WorkedOn)
                .all(db)
                .await?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let pledges = entity::pledge::Entity::find()
        .filter(entity::pledge::Column::BackerId.eq(actor.id))
        .order_by_asc(entity::pledge::Column::CreatedAt)
        .all(db)
        .await?;
    let sessions = refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(actor.id))
        .order_by_asc(refresh_token::Column::CreatedAt)
        .all(db)
        .await?;

    Ok(json!({
        "exportedAt": crate::now(),
        "account": {
            "id": account.id,
            "email": account.email,
            "displayName": account.display_name,
            "role": account.role,
            "emailVerifiedAt": account.email_verified_at,
            "createdAt": account.created_at,
            "updatedAt": account.updated_at,
        },
        "volunteerProfile": profile.as_ref().map(|p| json!({
            "id": p.id,
            "displayName": p.display_name,
            "bio": p.bio,
            "skills": p.skills,
            "interests": p.interests,
            "languages": p.languages,
            "postcode": p.postcode,
            "location": p.lat.zip(p.lng).map(|(lat, lng)| json!({ "lat": lat, "lng": lng })),
            "travelRadiusKm": p.travel_radius_km,
            "availability": p.availability,
            "dbsCheck": {
                "level": p.dbs_level,
                "issuedOn": p.dbs_issued_on,
                "recheckBy": p.dbs_recheck_by,
                "onUpdateService": p.dbs_update_service,
            },
            "createdAt": p.created_at,
            "updatedAt": p.updated_at,
        })),
        "memberships": memberships.iter().map(|m| json!({
            "organisationId": m.organisation_id,
            "organisation": org_name(m.organisation_id),
            "role": m.role,
            "since": m.created_at,
        })).collect::<Vec<_>>(),
        "partnershipSeats": seats.iter().map(|s| json!({
            "partnershipId": s.partnership_id,
            "partnership": org_name(s.partnership_id),
            "role": s.role,
            "wardId": s.ward_id,
            "organisationId": s.organisation_id,
            "votes": s.votes,
            "since": s.created_at,
        })).collect::<Vec<_>>(),
        "applications": applications.iter().map(|a| {
            let for_need = needs.iter().find(|n| n.id == a.need_id);
            json!({
                "id": a.id,
                "needId": a.need_id,
                "need": for_need.map(|n| n.title.clone()),
                "status": a.status,
                "message": a.message,
                "appliedAt": a.applied_at,
                "invitedAt": a.invited_at,
                "acceptedAt": a.accepted_at,
                "declinedAt": a.declined_at,
                "withdrawnAt": a.withdrawn_at,
                "completedAt": a.completed_at,
                "waitlistedAt": a.waitlisted_at,
                "expiredAt": a.expired_at,
            })
        }).collect::<Vec<_>>(),
        "dbsVerifications": verifications.iter().map(|v| json!({
            "organisationId": v.organisation_id,
            "level": v.level,
            "checkedOn": v.checked_on,
            "method": v.method,
            "verifiedAt": v.created_at,
        })).collect::<Vec<_>>(),
        "hours": hours.iter().map(|h| json!({
            "id": h.id,
            "needId": h.need_id,
            "date": h.worked_on,
            "minutes": h.minutes,
            "note": h.note,
            "status": h.status,
            "source": h.source,
            "rejectionReason": h.rejection_reason,
        })).collect::<Vec<_>>(),
        "attendance": attendance.iter().map(|a| json!({
            "needId": a.need_id,
            "sessionStartsAt": a.starts_at,
            "status": a.status,
            "checkedInAt": a.checked_in_at,
            "checkedOutAt": a.checked_out_at,
        })).collect::<Vec<_>>(),
        "volunteeringStatements": statements.iter().map(|s| json!({
            "id": s.id,
            "name": s.name,
            "from": s.from_date,
            "to": s.to_date,
            "lines": s.lines,
            "totalMinutes": s.total_minutes,
            "createdAt": s.created_at,
            "revokedAt": s.revoked_at,
        })).collect::<Vec<_>>(),
        "sessionSignups": signups.iter().map(|s| json!({
            "needId": s.need_id,
            "startsAt": s.starts_at,
            "signedUpAt": s.signed_up_at,
        })).collect::<Vec<_>>(),
        "pledges": pledges.iter().map(|p| json!({
            "id": p.id,
            "campaignId": p.campaign_id,
            "amountPence": p.amount_pence,
            "displayName": p.display_name,
            "anonymous": p.anonymous,
            "message": p.message,
            "status": p.status,
            "paymentReference": p.reference,
            "createdAt": p.created_at,
            "paidAt": p.paid_at,
        })).collect::<Vec<_>>(),
        "offers": offers.iter().map(|o| json!({
            "id": o.id,
            "kind": o.kind,
            "title": o.title,
            "description": o.description,
            "category": o.category,
            "postcode": o.postcode,
            "location": o.lat.zip(o.lng).map(|(lat, lng)| json!({ "lat": lat, "lng": lng })),
            "remote": o.remote,
            "availability": o.availability,
            "status": o.status,
            "createdAt": o.created_at,
        })).collect::<Vec<_>>(),
        "sessions": sessions.iter().map(|s| json!({
            "startedOrRefreshedAt": s.created_at,
            "expiresAt": s.expires_at,
            "usedAt": s.used_at,
            "endedAt": s.revoked_at,
        })).collect::<Vec<_>>(),
    }))
}
