//! What a publisher funded, as 360Giving 1.4 grants: every approved, paid or completed bid to the publisher's funds.
//! Built in a fixed number of statements (the publisher, its funds, their grants, the recipients, projects, wards and
//! the councils behind partnerships), whatever the number of grants.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::BidStatus;
use crate::error::{AppError, AppResult};
use crate::organisations::OrganisationKind;
use crate::values::{CharityNumber, CompanyNumber, LocalAuthorityCode};
use entity::{bid, community_partnership, fund, organisation, project, ward};

/// Grants ids are `360G-pitchin-<publisher>-<bid id>`: Pitch In's prefix with the publisher's slug.
const PREFIX: &str = "360G-pitchin";

/// One grant, in the standard's terms.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    pub title: String,
    pub description: String,
    pub amount_awarded: i64,
    pub amount_disbursed: i64,
    pub award_date: chrono::NaiveDate,
    pub planned_start: Option<chrono::NaiveDate>,
    pub planned_end: Option<chrono::NaiveDate>,
    pub recipient: Party,
    pub funder: Party,
    pub programme_code: String,
    pub programme_title: String,
    /// The ward: GSS code and name.
    pub location: Option<(String, String)>,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// An organisation as open data names it.
#[derive(Clone, Debug)]
pub struct Party {
    pub id: String,
    pub name: String,
    pub department: Option<String>,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
}

/// An organisation's identifier: its charity's or company's register identifier, a council's `GB-LAE-`, otherwise
/// one of Pitch In's under the 360Giving prefix.
fn party(o: &organisation::Model) -> Party {
    let charity = o.charity_number.as_deref().and_then(|n| CharityNumber::parse("charityNumber", n).ok());
    let company = o.company_number.as_deref().and_then(|n| CompanyNumber::parse("companyNumber", n).ok());
    let id = match (&charity, &company, &o.local_authority_code) {
        (Some(c), _, _) => c.org_id(),
        (None, Some(c), _) => c.org_id(),
        (None, None, Some(code)) if o.kind == OrganisationKind::Council.as_db() => LocalAuthorityCode::org_id(code),
        _ => format!("{PREFIX}-{}", o.slug),
    };
    Party {
        id,
        name: o.name.clone(),
        department: None,
        charity_number: charity.map(|c| c.into_inner()),
        company_number: company.map(|c| c.into_inner()),
    }
}

/// The publisher (an organisation, by its slug) and its grants, oldest award first; NOT_FOUND when there is no
/// such organisation.
pub async fn grants(db: &impl ConnectionTrait, publisher_slug: &str) -> AppResult<(organisation::Model, Vec<Grant>)> {
    let publisher = organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(publisher_slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("publisher"))?;
    let funds: HashMap<Uuid, fund::Model> = fund::Entity::find()
        .filter(fund::Column::OwnerId.eq(publisher.id))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    if funds.is_empty() {
        return Ok((publisher, Vec::new()));
    }
    let public = BidStatus::ALL.iter().filter(|s| s.is_public()).map(|s| s.as_db());
    let bids = bid::Entity::find()
        .filter(bid::Column::FundId.is_in(funds.keys().copied()))
        .filter(bid::Column::Status.is_in(public))
        .order_by_asc(bid::Column::DecidedAt)
        .order_by_asc(bid::Column::Id)
        .all(db)
        .await?;
    let recipients: HashMap<Uuid, organisation::Model> = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(bids.iter().map(|b| b.organisation_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let projects: HashMap<Uuid, project::Model> = project::Entity::find()
        .filter(project::Column::Id.is_in(bids.iter().map(|b| b.project_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let wards: HashMap<Uuid, ward::Model> = ward::Entity::find()
        .filter(ward::Column::Id.is_in(projects.values().filter_map(|p| p.ward_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    // A partnership's money is its council's: the council is the funder, the partnership its department.
    let funder = if publisher.kind == OrganisationKind::CommunityPartnership.as_db() {
        let tie = community_partnership::Entity::find_by_id(publisher.id).one(db).await?;
        let council = match tie {
            Some(t) => organisation::Entity::find_by_id(t.council_id).one(db).await?,
            None => None,
        };
        match council {
            Some(c) => Party { department: Some(publisher.name.clone()), ..party(&c) },
            None => party(&publisher),
        }
    } else {
        party(&publisher)
    };
    let grants = bids
        .into_iter()
        .filter_map(|b| {
            let fund = funds.get(&b.fund_id)?;
            let recipient = recipients.get(&b.organisation_id)?;
            let project = projects.get(&b.project_id);
            let location = project
                .and_then(|p| p.ward_id)
                .and_then(|w| wards.get(&w))
                .map(|w| (w.gss_code.clone(), w.name.clone()));
            let award_date = b.decided_at?.date_naive();
            Some(Grant {
                id: format!("{PREFIX}-{}-{}", publisher.slug, b.id),
                title: b.title.clone(),
                description: b.purpose.clone(),
                amount_awarded: b.amount_awarded?,
                amount_disbursed: b.amount_paid,
                award_date,
                planned_start: b.event_date.or(project.and_then(|p| p.start_date)),
                planned_end: b.event_date.or(project.and_then(|p| p.end_date)),
                recipient: party(recipient),
                funder: funder.clone(),
                programme_code: format!("{PREFIX}-{}-fund-{}", publisher.slug, fund.id),
                programme_title: format!("{} ({})", fund.name, fund.financial_year),
                location,
                modified: b.updated_at,
            })
        })
        .collect();
    Ok((publisher, grants))
}

/// Pounds as the number the standard wants (amounts are whole pence, so this is exact to the penny as written).
fn pounds(pence: i64) -> Value {
    serde_json::Number::from_f64(pence as f64 / 100.0).map(Value::Number).unwrap_or(Value::Null)
}

fn organisation_json(p: &Party) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(p.id));
    o.insert("name".into(), json!(p.name));
    if let Some(d) = &p.department {
        o.insert("department".into(), json!(d));
    }
    if let Some(n) = &p.charity_number {
        o.insert("charityNumber".into(), json!(n));
    }
    if let Some(n) = &p.company_number {
        o.insert("companyNumber".into(), json!(n));
    }
    Value::Object(o)
}

/// One grant as 360Giving JSON.
pub fn grant_json(g: &Grant) -> Value {
    let mut grant = json!({
        "id": g.id,
        "title": g.title,
        "description": g.description,
        "currency": "GBP",
        "amountAwarded": pounds(g.amount_awarded),
        "awardDate": g.award_date.to_string(),
        "recipientOrganization": [organisation_json(&g.recipient)],
        "fundingOrganization": [organisation_json(&g.funder)],
        "grantProgramme": [{ "code": g.programme_code, "title": g.programme_title }],
        "dateModified": g.modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if g.amount_disbursed > 0 {
        grant["amountDisbursed"] = pounds(g.amount_disbursed);
    }
    if let Some(start) = g.planned_start {
        let mut dates = json!({ "startDate": start.to_string() });
        if let Some(end) = g.planned_end {
            dates["endDate"] = json!(end.to_string());
        }
        grant["plannedDates"] = json!([dates]);
    }
    if let Some((code, name)) = &g.location {
        grant["beneficiaryLocation"] =
            json!([{ "name": name, "geoCode": code, "geoCodeType": "WD", "countryCode": "GB" }]);
    }
    grant
}

/// The CSV's columns, titled as the standard's spreadsheet template titles them.
pub const CSV_COLUMNS: [&str; 22] = [
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Amount Disbursed",
    "Award Date",
    "Planned Dates:Start Date",
    "Planned Dates:End Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Recipient Org:Charity Number",
    "Recipient Org:Company Number",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Funding Org:Department",
    "Grant Programme:Code",
    "Grant Programme:Title",
    "Beneficiary Location:Name",
    "Beneficiary Location:Geographic Code",
    "Beneficiary Location:Geographic Code Type",
    "Last Modified",
];

/// One grant as a CSV row, in `CSV_COLUMNS` order.
pub fn grant_row(g: &Grant) -> Vec<String> {
    let pounds = |p: i64| crate::values::Pence(p).to_decimal();
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        g.id.clone(),
        g.title.clone(),
        g.description.clone(),
        "GBP".into(),
        pounds(g.amount_awarded),
        if g.amount_disbursed > 0 { pounds(g.amount_disbursed) } else { String::new() },
        g.award_date.to_string(),
        date(g.planned_start),
        date(g.planned_end),
        g.recipient.id.clone(),
        g.recipient.name.clone(),
        g.recipient.charity_number.clone().unwrap_or_default(),
        g.recipient.company_number.clone().unwrap_or_default(),
        g.funder.id.clone(),
        g.funder.name.clone(),
        g.funder.department.clone().unwrap_or_default(),
        g.programme_code.clone(),
        g.programme_title.clone(),
        g.location.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
        g.location.as_ref().map(|(c, _)| c.clone()).unwrap_or_default(),
        if g.location.is_some() { "WD".into() } else { String::new() },
        g.modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ]
}

/// The grants as CSV: a header row of `CSV_COLUMNS`, then a row a grant.
pub fn csv(grants: &[Grant]) -> AppResult<String> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let fail = |e: ::csv::Error| AppError::internal(format!("writing CSV: {e}"));
    writer.write_record(CSV_COLUMNS).map_err(fail)?;
    for grant in grants {
        writer.write_record(grant_row(grant)).map_err(fail)?;
    }
    let bytes = writer.into_inner().map_err(|e| AppError::internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(format!("CSV is not UTF-8: {e}")))
}
