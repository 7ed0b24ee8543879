//! Personal-data rights (UK GDPR): what Pitch In holds about a person, as one JSON document they can take away.
//!
//! The export is everything stored about the signed-in user and by them: their account (never the password hash),
//! volunteer profile (exact place and DBS check included, since it is theirs), memberships, applications with the
//! needs they were for, their own offers, and their sign-in sessions (when, not the tokens, which are stored only
//! as hashes). Others' data is not in it, even where it touches theirs.
use async_graphql::{Context, Json, Object};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::graphql::{db, viewer};
use entity::{application, membership, need, offer, organisation, refresh_token, user, volunteer_profile};

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Everything Pitch In holds about the signed-in user, as one JSON document (UK GDPR right of access and
    /// portability).
    async fn export_my_data(&self, ctx: &Context<'_>) -> Result<Json<Value>, AppError> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(Json(export(db(ctx)?, &actor).await?))
    }
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
    let org_ids: Vec<Uuid> = memberships.iter().map(|m| m.organisation_id).collect();
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
            })
        }).collect::<Vec<_>>(),
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
