//! Volunteers' private calendar feeds: the needs a volunteer is invited to or accepted on, for their phone's
//! calendar to subscribe to. A feed is found by its token id, 128 random bits; the feed's URL adds an HMAC of the
//! id under the server's key (the API's `auth::token::CalendarKeys`), which no table holds.
use rand::RngCore;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::require_own;
use crate::access::AuthUser;
use crate::applications::ApplicationStatus;
use crate::error::AppResult;
use entity::{application, calendar_feed, need, organisation, volunteer_profile};

/// The applications a volunteer's feed shows: those holding a place (an invitation holds one while they decide).
pub const IN_FEED: [ApplicationStatus; 2] = [ApplicationStatus::Invited, ApplicationStatus::Accepted];

/// A fresh token id: 128 bits from the operating system's generator, as 32 hex digits.
pub fn new_token_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives a new profile its feed (in the transaction that made the profile).
pub async fn create(db: &impl ConnectionTrait, volunteer_id: Uuid) -> AppResult<()> {
    let feed = calendar_feed::ActiveModel { volunteer_id: Set(volunteer_id), token_id: Set(new_token_id()) };
    calendar_feed::Entity::insert(feed).exec_without_returning(db).await?;
    Ok(())
}

/// The volunteer's feed's token id, if they have a feed.
pub async fn token_id(db: &impl ConnectionTrait, volunteer_id: Uuid) -> AppResult<Option<String>> {
    Ok(calendar_feed::Entity::find_by_id(volunteer_id).one(db).await?.map(|f| f.token_id))
}

/// Replaces the signed-in volunteer's token id (making their feed if they had none): the old URL stops working
/// with this statement. Returns their profile and the new id.
pub async fn rotate(db: &impl ConnectionTrait, actor: &AuthUser) -> AppResult<(volunteer_profile::Model, String)> {
    let profile = require_own(db, actor).await?;
    let token_id = new_token_id();
    let feed = calendar_feed::ActiveModel { volunteer_id: Set(profile.id), token_id: Set(token_id.clone()) };
    calendar_feed::Entity::insert(feed)
        .on_conflict(
            OnConflict::column(calendar_feed::Column::VolunteerId)
                .update_column(calendar_feed::Column::TokenId)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok((profile, token_id))
}

/// Whose feed `token_id` opens: a live profile's, or nobody's. One statement.
pub async fn volunteer_of(db: &impl ConnectionTrait, token_id: &str) -> AppResult<Option<Uuid>> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    #[derive(sea_orm::FromQueryResult)]
    struct Owner {
        volunteer_id: Uuid,
    }
    let select = Query::select()
        .column((calendar_feed::Entity, calendar_feed::Column::VolunteerId))
        .from(calendar_feed::Entity)
        .inner_join(
            volunteer_profile::Entity,
            Expr::col((volunteer_profile::Entity, volunteer_profile::Column::Id))
                .equals((calendar_feed::Entity, calendar_feed::Column::VolunteerId)),
        )
        .and_where(Expr::col((calendar_feed::Entity, calendar_feed::Column::TokenId)).eq(token_id))
        .and_where(Expr::col((volunteer_profile::Entity, volunteer_profile::Column::DeletedAt)).is_null())
        .to_owned();
    let rows: Vec<Owner> = crate::store::page::fetch_rows(db, &select).await?;
    Ok(rows.first().map(|o| o.volunteer_id))
}

/// One need in a volunteer's feed, with where the volunteer stands on it.
pub struct Entry {
    pub need: need::Model,
    pub organisation: organisation::Model,
    pub status: ApplicationStatus,
    /// When the application last changed (an invitation accepted changes the event as much as an edit does).
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

/// What a volunteer's feed shows, soonest-starting need first. Three statements, however many needs.
pub async fn entries(db: &impl ConnectionTrait, volunteer_id: Uuid) -> AppResult<Vec<Entry>> {
    let applications = application::Entity::find()
        .filter(application::Column::VolunteerId.eq(volunteer_id))
        .filter(application::Column::Status.is_in(IN_FEED.iter().map(|s| s.as_db())))
        .all(db)
        .await?;
    let needs: std::collections::HashMap<Uuid, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(applications.iter().map(|a| a.need_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let organisations: std::collections::HashMap<Uuid, organisation::Model> = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(needs.values().map(|n| n.organisation_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut entries: Vec<Entry> = applications
        .iter()
        .filter_map(|a| {
            let need = needs.get(&a.need_id)?.clone();
            let organisation = organisations.get(&need.organisation_id)?.clone();
            Some(Entry { need, organisation, status: ApplicationStatus::from_db(&a.status)?, changed_at: a.updated_at })
        })
        .collect();
    entries.sort_by_key(|e| (e.need.start_date, e.need.id));
    Ok(entries)
}
