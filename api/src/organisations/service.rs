//! Organisation rules: creating (creator becomes OWNER), editing, adding members, listing.
use async_graphql::MaybeUndefined;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
    Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{
    AddOrganisationMemberInput, CreateOrganisationInput, MemberRole, Organisation, OrganisationConnection,
    OrganisationFilter, OrganisationOrder, UpdateOrganisationInput,
};
use crate::auth::{AuthUser, policy};
use crate::error::{AppError, AppResult};

use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::pagination::{Page, PageRows, SortKey, SortKind, SortValue, TotalCount, connection, fetch_rows};
use crate::now;
use crate::values::geo::near_condition;
use crate::values::{Email, Postcode, bounded_text, optional_text};
use domain::store::text_search;
use entity::{membership, organisation};

pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<organisation::Model>> {
    Ok(organisation::Entity::find().filter(organisation::Column::Slug.eq(slug.trim().to_lowercase())).one(db).await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<organisation::Model> {
    organisation::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("organisation"))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    input: CreateOrganisationInput,
) -> AppResult<organisation::Model> {
    let name = bounded_text("input.name", &input.name, 2, 120)?;
    let description = bounded_text("input.description", &input.description, 0, 5000)?;
    let website = parse_website(input.website.as_deref())?;
    let contact_email = parse_contact(input.contact_email.as_deref())?;
    let postcode = parse_postcode(input.postcode.as_deref())?;
    let location = parse_location(input.location.as_ref())?;

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
    input: UpdateOrganisationInput,
) -> AppResult<organisation::Model> {
    let id = decode("input.organisationId", &input.organisation_id, NodeKind::Organisation)?;
    let org = get(db, id).await?;
    let role = policy::member_role(db, actor, id).await?;
    if !policy::can_manage_organisation(actor, role) {
        return Err(AppError::forbidden("only owners and admins of this organisation may change it"));
    }
    if input.verified.is_some() && !actor.is_admin() {
        return Err(AppError::forbidden("only platform admins may verify organisations"));
    }
    let mut active = org.into_active_model();
    if let Some(name) = &input.name {
        active.name = Set(bounded_text("input.name", name, 2, 120)?);
    }
    if let Some(kind) = input.kind {
        active.kind = Set(kind.as_db().to_owned());
    }
    if let Some(description) = &input.description {
        active.description = Set(bounded_text("input.description", description, 0, 5000)?);
    }
    match &input.website {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.website = Set(None),
        MaybeUndefined::Value(w) => active.website = Set(parse_website(Some(w))?),
    }
    match &input.contact_email {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.contact_email = Set(None),
        MaybeUndefined::Value(e) => active.contact_email = Set(parse_contact(Some(e))?),
    }
    match &input.postcode {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.postcode = Set(None),
        MaybeUndefined::Value(p) => active.postcode = Set(parse_postcode(Some(p))?),
    }
    match &input.location {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            active.lat = Set(None);
            active.lng = Set(None);
        }
        MaybeUndefined::Value(l) => {
            let c = parse_location(Some(l))?;
            active.lat = Set(c.map(|c| c.lat()));
            active.lng = Set(c.map(|c| c.lng()));
        }
    }
    if let Some(verified) = input.verified {
        active.verified = Set(verified);
    }
    active.updated_at = Set(now());
    Ok(active.update(db).await?)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn add_member(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    actor: &AuthUser,
    input: AddOrganisationMemberInput,
) -> AppResult<(membership::Model, organisation::Model)> {
    let id = decode("input.organisationId", &input.organisation_id, NodeKind::Organisation)?;
    let org = get(db, id).await?;
    let role = policy::member_role(db, actor, id).await?;
    if !policy::can_manage_organisation(actor, role) {
        return Err(AppError::forbidden("only owners and admins of this organisation may add members"));
    }
    if !policy::can_grant(actor, role, input.role.into()) {
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

pub async fn list(
    db: &impl ConnectionTrait,
    filter: OrganisationFilter,
    order: OrganisationOrder,
    page: &Page,
) -> AppResult<OrganisationConnection> {
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
    if let Some(near) = &filter.near {
        let (center, radius) = near.parse("filter.near")?;
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
    let total = TotalCount::of(select.clone());
    let mut paged = select;
    sort.apply(&mut paged, page)?;
    let rows: Vec<organisation::Model> = fetch_rows(db, &paged).await?;
    let rows = PageRows::from_fetched(rows, page);
    Ok(connection(rows, total, |o| {
        let key = match order {
            OrganisationOrder::Name => SortValue::Text(o.name.clone()),
            OrganisationOrder::Newest => SortValue::Time(o.created_at),
        };
        (sort.cursor(key, o.id), Organisation(o), async_graphql::connection::EmptyFields)
    }))
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

pub fn parse_postcode(raw: Option<&str>) -> AppResult<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(p) => Ok(Some(Postcode::parse("input.postcode", p)?.into_inner())),
    }
}

pub use crate::graphql::parse_location;

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
