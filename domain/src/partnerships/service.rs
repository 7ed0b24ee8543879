//! Partnership rules: tying a partnership to its council, and its seats. A council's owners and admins (its
//! officers on Pitch In) and the partnership's own owners and admins manage the seats; tying a partnership to a
//! council takes the right to manage both.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::PartnershipRole;
use crate::access::{self, AuthUser};
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::organisations::OrganisationKind;
use crate::values::Email;
use entity::{community_partnership, organisation, partnership_member, ward};

/// Votes a seat may carry: a partnership gives some members more than one, never many.
const MAX_VOTES: i32 = 10;

/// A partnership: its organisation, and its tie to a council once one is set.
#[derive(Clone, Debug)]
pub struct Partnership {
    pub organisation: organisation::Model,
    pub council_id: Option<Uuid>,
}

/// Someone to seat on a partnership.
#[derive(Clone, Debug)]
pub struct NewPartnershipMember {
    pub partnership_id: Uuid,
    /// The address they registered with.
    pub email: String,
    pub role: PartnershipRole,
    /// Required for a ward member (a ward of the partnership), refused for anyone else.
    pub ward_id: Option<Uuid>,
    /// The organisation they represent, if any.
    pub organisation_id: Option<Uuid>,
    /// Default 1.
    pub votes: Option<i32>,
}

/// The partnership an organisation is; NOT_FOUND unless it is of kind COMMUNITY_PARTNERSHIP.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Partnership> {
    let organisation = crate::organisations::get(db, id).await?;
    if organisation.kind != OrganisationKind::CommunityPartnership.as_db() {
        return Err(AppError::not_found("community partnership"));
    }
    let tie = community_partnership::Entity::find_by_id(id).one(db).await?;
    Ok(Partnership { organisation, council_id: tie.map(|t| t.council_id) })
}

/// A council's partnerships, by name.
pub async fn of_council(db: &impl ConnectionTrait, council_id: Uuid) -> AppResult<Vec<Partnership>> {
    let ties = community_partnership::Entity::find()
        .filter(community_partnership::Column::CouncilId.eq(council_id))
        .all(db)
        .await?;
    let organisations = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ties.iter().map(|t| t.organisation_id)))
        .filter(organisation::Column::Kind.eq(OrganisationKind::CommunityPartnership.as_db()))
        .order_by_asc(organisation::Column::Name)
        .all(db)
        .await?;
    Ok(organisations.into_iter().map(|o| Partnership { organisation: o, council_id: Some(council_id) }).collect())
}

async fn manages(db: &impl ConnectionTrait, actor: &AuthUser, organisation_id: Uuid) -> AppResult<bool> {
    let role = access::member_role(db, actor, organisation_id).await?;
    Ok(access::can_manage_organisation(actor, role))
}

/// Whether the actor may manage the partnership's seats: its own owners and admins, its council's, platform admins.
pub(crate) async fn require_seat_manager(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    partnership: &Partnership,
) -> AppResult<()> {
    if manages(db, actor, partnership.organisation.id).await? {
        return Ok(());
    }
    if let Some(council) = partnership.council_id
        && manages(db, actor, council).await?
    {
        return Ok(());
    }
    Err(AppError::forbidden("only the partnership's or its council's owners and admins manage its seats"))
}

/// Ties a partnership to the council it serves (or moves it to another).
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn set_council(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    partnership_id: Uuid,
    council_id: Uuid,
) -> AppResult<Partnership> {
    let partnership = get(db, partnership_id).await?;
    let council = crate::organisations::get(db, council_id).await?;
    if council.kind != OrganisationKind::Council.as_db() {
        return Err(AppError::bad_input("input.councilId", "is not an organisation of kind COUNCIL"));
    }
    if !(manages(db, actor, partnership_id).await? && manages(db, actor, council_id).await?) {
        return Err(AppError::forbidden("only someone who manages both the partnership and the council may tie them"));
    }
    // Taking a partnership from its council is the council's business too.
    if let Some(current) = partnership.council_id
        && current != council_id
        && !manages(db, actor, current).await?
    {
        return Err(AppError::forbidden("only someone who also manages its present council may move a partnership"));
    }
    let elsewhere = ward::Entity::find()
        .filter(ward::Column::PartnershipId.eq(partnership_id))
        .filter(ward::Column::CouncilId.ne(council_id))
        .count(db)
        .await?;
    if elsewhere > 0 {
        return Err(AppError::conflict(format!(
            "{elsewhere} of this partnership's wards belong to another council: import them with this one first"
        )));
    }
    let tie = community_partnership::ActiveModel {
        organisation_id: Set(partnership_id),
        council_id: Set(council_id),
        created_at: Set(now()),
    };
    let upsert = sea_orm::sea_query::OnConflict::column(community_partnership::Column::OrganisationId)
        .update_column(community_partnership::Column::CouncilId)
        .to_owned();
    let txn = db.begin().await?;
    community_partnership::Entity::insert(tie).on_conflict(upsert).exec(&txn).await?;
    let detail = format!("community partnership {} tied to {}", partnership.organisation.name, council.name);
    audit::record(&txn, Actor::user(actor.id), AuditAction::Changed, None, &["communityPartnership.council"], detail)
        .await?;
    txn.commit().await?;
    Ok(Partnership { council_id: Some(council_id), ..partnership })
}

/// A partnership's members, oldest seat first.
pub async fn members(db: &impl ConnectionTrait, partnership_id: Uuid) -> AppResult<Vec<partnership_member::Model>> {
    Ok(partnership_member::Entity::find()
        .filter(partnership_member::Column::PartnershipId.eq(partnership_id))
        .order_by_asc(partnership_member::Column::CreatedAt)
        .order_by_asc(partnership_member::Column::Id)
        .all(db)
        .await?)
}

/// Seats someone on a partnership.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn add_member(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    new: NewPartnershipMember,
) -> AppResult<partnership_member::Model> {
    let partnership = get(db, new.partnership_id).await?;
    require_seat_manager(db, actor, &partnership).await?;
    let votes = new.votes.unwrap_or(1);
    if !(0..=MAX_VOTES).contains(&votes) {
        return Err(AppError::bad_input("input.votes", format!("must be from 0 to {MAX_VOTES}")));
    }
    match (new.role, new.ward_id) {
        (PartnershipRole::WardMember, None) => {
            return Err(AppError::bad_input("input.wardId", "a ward member represents a ward: name it"));
        }
        (PartnershipRole::WardMember, Some(ward_id)) => {
            let ward = ward::Entity::find_by_id(ward_id).one(db).await?.ok_or_else(|| AppError::not_found("ward"))?;
            if ward.partnership_id != Some(partnership.organisation.id) {
                return Err(AppError::bad_input("input.wardId", "is not one of this partnership's wards"));
            }
        }
        (_, Some(_)) => {
            return Err(AppError::bad_input("input.wardId", "only a ward member represents a ward"));
        }
        (_, None) => {}
    }
    let email = Email::parse("input.email", &new.email)?;
    let user = crate::users::service::find_by_email(db, &email)
        .await?
        .ok_or_else(|| AppError::NotFound("no account uses that email address; ask them to register first".into()))?;
    // Nobody is shown as speaking for an organisation without it: they belong to it, or the actor runs it.
    if let Some(organisation_id) = new.organisation_id {
        crate::organisations::get(db, organisation_id).await?;
        let seated = crate::users::service::auth_user(&user);
        if access::member_role(db, &seated, organisation_id).await?.is_none()
            && !manages(db, actor, organisation_id).await?
        {
            return Err(AppError::bad_input(
                "input.organisationId",
                "they must be a member of the organisation they represent, or you must manage it",
            ));
        }
    }
    let txn = db.begin().await?;
    let member = partnership_member::ActiveModel {
        id: Set(Uuid::now_v7()),
        partnership_id: Set(partnership.organisation.id),
        user_id: Set(user.id),
        role: Set(new.role.as_db().to_owned()),
        ward_id: Set(new.ward_id),
        organisation_id: Set(new.organisation_id),
        votes: Set(votes),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::conflict("that person already has a seat on this partnership"),
        other => other,
    })?;
    let detail = format!("seated on {} as {}", partnership.organisation.name, new.role.as_db().to_lowercase());
    audit::record_changes(&txn, Actor::user(actor.id), &["partnershipMember.role"], [(user.id, detail)]).await?;
    txn.commit().await?;
    Ok(member)
}

/// Takes someone's seat away; returns the seat as it was.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn remove_member(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    member_id: Uuid,
) -> AppResult<(partnership_member::Model, Partnership)> {
    let member = partnership_member::Entity::find_by_id(member_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("partnership member"))?;
    let partnership = get(db, member.partnership_id).await?;
    require_seat_manager(db, actor, &partnership).await?;
    let txn = db.begin().await?;
    partnership_member::Entity::delete_by_id(member.id).exec(&txn).await?;
    let detail = format!("seat on {} removed", partnership.organisation.name);
    audit::record_changes(&txn, Actor::user(actor.id), &["partnershipMember.role"], [(member.user_id, detail)]).await?;
    txn.commit().await?;
    Ok((member, partnership))
}

/// The members' roles and votes, for `super::seat_balance`.
pub fn seats(members: &[partnership_member::Model]) -> Vec<(PartnershipRole, i32)> {
    members.iter().filter_map(|m| Some((PartnershipRole::from_db(&m.role)?, m.votes))).collect()
}

/// Whether an organisation holds wards, a council tie or seats as a council or a partnership, which a change of its
/// kind would leave pointing at the wrong kind of organisation.
pub async fn holds_places(db: &impl ConnectionTrait, organisation_id: Uuid) -> AppResult<bool> {
    use sea_orm::Condition;
    let wards = ward::Entity::find()
        .filter(
            Condition::any()
                .add(ward::Column::CouncilId.eq(organisation_id))
                .add(ward::Column::PartnershipId.eq(organisation_id)),
        )
        .count(db)
        .await?;
    let ties = community_partnership::Entity::find()
        .filter(
            Condition::any()
                .add(community_partnership::Column::OrganisationId.eq(organisation_id))
                .add(community_partnership::Column::CouncilId.eq(organisation_id)),
        )
        .count(db)
        .await?;
    let seats = partnership_member::Entity::find()
        .filter(partnership_member::Column::PartnershipId.eq(organisation_id))
        .count(db)
        .await?;
    Ok(wards + ties + seats > 0)
}
