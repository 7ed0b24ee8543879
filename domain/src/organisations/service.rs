//! Organisation rules: creating (creator becomes OWNER), editing, adding members, listing.
use sea_orm::sea_query::{Expr, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
    Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{MemberRole, OrganisationId, OrganisationKind, OrganisationOrder};
use crate::access::{self as policy, AuthUser};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_rows};
use crate::store::text_search;
use crate::values::geo::near_condition;
use crate::values::{
    CharityNumber, CompanyNumber, Coordinates, Email, LocalAuthorityCode, Patch, Postcode, RadiusKm, bounded_text,
    optional_text,
};
use entity::{membership, organisation};

pub use super::get;

/// An organisation as its creator registers it (they become its OWNER). Website and contact email are checked
/// here (blank is none).
#[derive(Clone, Debug)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub description: String,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub postcode: Option<Postcode>,
    pub location: Option<Coordinates>,
    pub charity_number: Option<CharityNumber>,
    pub company_number: Option<CompanyNumber>,
    /// Only a council has one.
    pub local_authority_code: Option<LocalAuthorityCode>,
}

/// A change to an organisation; `verified` only by platform admins.
#[derive(Clone, Debug, Default)]
pub struct OrganisationPatch {
    pub name: Option<String>,
    pub kind: Option<OrganisationKind>,
    pub description: Option<String>,
    pub website: Patch<String>,
    pub contact_email: Patch<String>,
    pub postcode: Patch<Postcode>,
    pub location: Patch<Coordinates>,
    pub verified: Option<bool>,
    pub charity_number: Patch<CharityNumber>,
    pub company_number: Patch<CompanyNumber>,
    pub local_authority_code: Patch<LocalAuthorityCode>,
}

/// Someone with an account, added to an organisation in a role.
#[derive(Clone, Debug)]
pub struct NewMember {
    pub email: String,
    pub role: MemberRole,
}

#[derive(Clone, Debug, Default)]
pub struct OrganisationFilter {
    pub kinds: Option<Vec<OrganisationKind>>,
    pub text: Option<String>,
    pub verified: Option<bool>,
    pub near: Option<(Coordinates, RadiusKm)>,
}

pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<organisation::Model>> {
    Ok(organisation::Entity::find().filter(organisation::Column::Slug.eq(slug.trim().to_lowercase())).one(db).await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    input: NewOrganisation,
) -> AppResult<organisation::Model> {
    let name = bounded_text("input.name", &input.name, 2, 120)?;
    let description = bounded_text("input.description", &input.description, 0, 5000)?;
    let website = parse_website(input.website.as_deref())?;
    let contact_email = parse_contact(input.contact_email.as_deref())?;
    let postcode = input.postcode.map(Postcode::into_inner);
    let location = input.location;
    if input.local_authority_code.is_some() && input.kind != OrganisationKind::Council {
        return Err(AppError::bad_input("input.localAuthorityCode", "only a council has a local authority code"));
    }

    // Read before the transaction (see needs::service::update); a race on the slug ends in the unique index.
    let slug = free_slug(db, &name).await?;
    let txn = db.begin().await?;
    let now = now();
    let org = organisation::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug),
        name: Set(name),
        kind: Set(input.kind.as_db().to_owned()),
        description: Set(description),
        website: Set(website),
        contact_email: Set(contact_email),
        postcode: Set(postcode),
        lat: Set(location.map(|l| l.lat())),
        lng: Set(location.map(|l| l.lng())),
        verified: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        charity_number: Set(input.charity_number.map(CharityNumber::into_inner)),
        company_number: Set(input.company_number.map(CompanyNumber::into_inner)),
        local_authority_code: Set(input.local_authority_code.map(LocalAuthorityCode::into_inner)),
    }
    .insert(&txn)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::conflict("an organisation with that name was created at the same moment; try again")
        }
        other => other,
    })?;
    insert_membership(&txn, org.id, actor.id, MemberRole::Owner).await?;
    txn.commit().await?;
    Ok(org)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    OrganisationId(id): OrganisationId,
    input: OrganisationPatch,
) -> AppResult<organisation::Model> {
    let org = get(db, id).await?;
    let role = policy::member_role(db, actor, id).await?;
    if !policy::can_manage_organisation(actor, role) {
        return Err(AppError::forbidden("only owners and admins of this organisation may change it"));
    }
    if input.verified.is_some() && !actor.is_admin() {
        return Err(AppError::forbidden("only platform admins may verify organisations"));
    }
    let (current_location, current_postcode) = (Coordinates::from_stored(org.lat, org.lng), org.postcode.clone());
    let current_kind = org.kind.clone();
    let coded = match &input.local_authority_code {
        Patch::Keep => org.local_authority_code.is_some(),
        Patch::Clear => false,
        Patch::Set(_) => true,
    };
    let kind_after = input.kind.map(|k| k.as_db().to_owned()).unwrap_or_else(|| current_kind.clone());
    if coded && kind_after != OrganisationKind::Council.as_db() {
        return Err(AppError::bad_input("input.localAuthorityCode", "only a council has a local authority code"));
    }
    let mut active = org.into_active_model();
    if let Some(name) = &input.name {
        active.name = Set(bounded_text("input.name", name, 2, 120)?);
    }
    if let Some(kind) = input.kind {
        let placed = [OrganisationKind::Council.as_db(), OrganisationKind::CommunityPartnership.as_db()];
        if kind.as_db() != current_kind
            && placed.contains(&current_kind.as_str())
            && crate::partnerships::service::holds_places(db, id).await?
        {
            return Err(AppError::conflict(
                "this organisation has wards, a council tie or seats: its kind cannot change while it does",
            ));
        }
        active.kind = Set(kind.as_db().to_owned());
    }
    if let Some(description) = &input.description {
        active.description = Set(bounded_text("input.description", description, 0, 5000)?);
    }
    match input.website {
        Patch::Keep => {}
        Patch::Clear => active.website = Set(None),
        Patch::Set(w) => active.website = Set(parse_website(Some(&w))?),
    }
    match input.contact_email {
        Patch::Keep => {}
        Patch::Clear => active.contact_email = Set(None),
        Patch::Set(e) => active.contact_email = Set(parse_contact(Some(&e))?),
    }
    let (location, postcode) = patch_place(current_location, current_postcode, input.location, input.postcode);
    active.lat = Set(location.map(|c| c.lat()));
    active.lng = Set(location.map(|c| c.lng()));
    active.postcode = Set(postcode);
    if let Some(verified) = input.verified {
        active.verified = Set(verified);
    }
    match input.charity_number {
        Patch::Keep => {}
        Patch::Clear => active.charity_number = Set(None),
        Patch::Set(number) => active.charity_number = Set(Some(number.into_inner())),
    }
    match input.company_number {
        Patch::Keep => {}
        Patch::Clear => active.company_number = Set(None),
        Patch::Set(number) => active.company_number = Set(Some(number.into_inner())),
    }
    match input.local_authority_code {
        Patch::Keep => {}
        Patch::Clear => active.local_authority_code = Set(None),
        Patch::Set(code) => active.local_authority_code = Set(Some(code.into_inner())),
    }
    active.updated_at = Set(now());
    Ok(active.update(db).await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn add_member(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    actor: &AuthUser,
    OrganisationId(id): OrganisationId,
    input: NewMember,
) -> AppResult<(membership::Model, organisation::Model)> {
    let org = get(db, id).await?;
    let role = policy::member_role(db, actor, id).await?;
    if !policy::can_manage_organisation(actor, role) {
        return Err(AppError::forbidden("only owners and admins of this organisation may add members"));
    }
    if !policy::can_grant(actor, role, input.role) {
        return Err(AppError::forbidden("only owners may add another owner"));
    }
    let email = Email::parse("input.email", &input.email)?;
    let user = crate::users::service::find_by_email(db, &email)
        .await?
        .ok_or_else(|| AppError::NotFound("no account uses that email address; ask them to register first".into()))?;
    if policy::member_role(db, &crate::users::service::auth_user(&user), id).await?.is_some() {
        return Err(AppError::conflict("that person is already a member of this organisation"));
    }
    let txn = db.begin().await?;
    let membership = insert_membership(&txn, id, user.id, input.role).await?;
    let detail = format!("added to {} as {}", org.name, input.role.as_db().to_lowercase());
    crate::audit::record_changes(&txn, crate::audit::Actor::user(actor.id), &["membership.role"], [(user.id, detail)])
        .await?;
    sea_orm::TransactionSession::commit(txn).await?;
    Ok((membership, org))
}

async fn insert_membership(
    db: &impl ConnectionTrait,
    organisation_id: Uuid,
    user_id: Uuid,
    role: MemberRole,
) -> AppResult<membership::Model> {
    Ok(membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation_id),
        user_id: Set(user_id),
        role: Set(role.as_db().to_owned()),
        created_at: Set(now()),
    }
    .insert(db)
    .await?)
}

/// A page of organisations, each with its cursor, and the statement that counts the whole list.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: OrganisationFilter,
    order: OrganisationOrder,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, organisation::Model)>, SelectStatement)> {
    use organisation::Column as C;
    let mut cond = Condition::all();
    if let Some(kinds) = &filter.kinds {
        cond = cond.add(C::Kind.is_in(kinds.iter().map(|k| k.as_db())));
    }
    if let Some(text) = &filter.text {
        cond = cond.add(text_search("filter.text", text, [C::Name, C::Description])?);
    }
    if let Some(verified) = filter.verified {
        cond = cond.add(C::Verified.eq(verified));
    }
    if let Some((center, radius)) = filter.near {
        cond = cond.add(near_condition(C::Lat, C::Lng, &center, radius));
    }
    let select = organisation::Entity::find().filter(cond).into_query();
    let sort = match order {
        OrganisationOrder::Name => SortKey {
            name: "organisations:NAME",
            kind: SortKind::Text,
            key: col(C::Name),
            id: col(C::Id),
            descending: false,
        },
        OrganisationOrder::Newest => SortKey {
            name: "organisations:NEWEST",
            kind: SortKind::Time,
            key: col(C::CreatedAt),
            id: col(C::Id),
            descending: true,
        },
    };
    let count = select.clone();
    let mut paged = select;
    sort.apply(&mut paged, page)?;
    let rows: Vec<organisation::Model> = fetch_rows(db, &paged).await?;
    let rows = rows
        .into_iter()
        .map(|o| {
            let key = match order {
                OrganisationOrder::Name => SortValue::Text(o.name.clone()),
                OrganisationOrder::Newest => SortValue::Time(o.created_at),
            };
            (sort.cursor(key, o.id), o)
        })
        .collect();
    Ok((PageRows::from_fetched(rows, page), count))
}

fn col(c: organisation::Column) -> SimpleExpr {
    Expr::col((organisation::Entity, c))
}

/// Lower-case ASCII words joined by hyphens, then `-2`, `-3`… until free.
async fn free_slug(db: &impl ConnectionTrait, name: &str) -> AppResult<String> {
    let base = slugify(name);
    let taken: Vec<String> = organisation::Entity::find()
        .filter(
            Condition::any()
                .add(organisation::Column::Slug.eq(base.as_str()))
                .add(organisation::Column::Slug.starts_with(format!("{base}-"))),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.slug)
        .collect();
    if !taken.contains(&base) {
        return Ok(base);
    }
    let n = (2..).find(|n| !taken.contains(&format!("{base}-{n}"))).unwrap_or(2);
    Ok(format!("{base}-{n}"))
}

pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(60).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() { "organisation".to_owned() } else { slug }
}

fn parse_website(raw: Option<&str>) -> AppResult<Option<String>> {
    let Some(url) = optional_text("input.website", raw, 300)? else { return Ok(None) };
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if host.split('/').next().is_some_and(|h| h.contains('.') && !h.contains(' ')) => Ok(Some(url)),
        _ => Err(AppError::bad_input("input.website", "must be a web address starting with https://")),
    }
}

fn parse_contact(raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(e) => Ok(Some(Email::parse("input.contactEmail", e)?.into_inner())),
    }
}

/// Where something is after a change to its place: the one rule for needs, offers and organisations (each field
/// kept, cleared or set on its own; the postcode as stored, normalised).
pub fn patch_place(
    location: Option<Coordinates>,
    postcode: Option<String>,
    location_patch: Patch<Coordinates>,
    postcode_patch: Patch<Postcode>,
) -> (Option<Coordinates>, Option<String>) {
    (location_patch.apply(location), postcode_patch.map(Postcode::into_inner).apply(postcode))
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_readable() {
        assert_eq!(slugify("The Feel Good Bakery"), "the-feel-good-bakery");
        assert_eq!(slugify("  Roehampton — Jobs Club! "), "roehampton-jobs-club");
        assert_eq!(slugify("!!!"), "organisation");
    }
}
