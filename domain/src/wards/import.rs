//! `pitchin import wards FILE`: wards from a CSV file, all of them or none. Every bad row is reported with its line,
//! and nothing is written while any is bad. Importing a ward again (by its GSS code) updates it.
//!
//! Columns, named in a header row in any order: `gss_code`, `name`, `council` (the council organisation's slug) are
//! required; `partnership` (a community partnership organisation's slug), `population`, `imd_decile` (1 = most
//! deprived) and `figures_illustrative` (true when population and deprivation are not the official figures) may be
//! left out or empty.
use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait};
use uuid::Uuid;

use super::GssCode;
use crate::error::AppResult;
use crate::organisations::OrganisationKind;
use entity::{organisation, ward};

/// England has about 6,900 wards: a file of more is not one council's, nor all of them.
const MAX_ROWS: usize = 10_000;
const REQUIRED: [&str; 3] = ["gss_code", "name", "council"];
const OPTIONAL: [&str; 4] = ["partnership", "population", "imd_decile", "figures_illustrative"];

/// What is wrong with one line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What an import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
}

/// One row, parsed.
#[derive(Clone, Debug)]
struct Row {
    line: u64,
    gss_code: GssCode,
    name: String,
    council: String,
    partnership: Option<String>,
    population: Option<i64>,
    imd_decile: Option<i16>,
    figures_illustrative: bool,
}

/// The rows that parse, and what is wrong with the others (a bad header row stops it there), and the optional
/// columns the file has: a column left out keeps what is stored; an empty cell clears it.
fn parse(csv_bytes: &[u8]) -> (Vec<Row>, Vec<LineError>, Vec<&'static str>) {
    let mut errors = Vec::new();
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(csv_bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.to_ascii_lowercase()).collect(),
        Err(e) => {
            let error = LineError { line: 1, message: format!("the header row cannot be read: {e}") };
            return (Vec::new(), vec![error], Vec::new());
        }
    };
    for column in &headers {
        if !REQUIRED.contains(&column.as_str()) && !OPTIONAL.contains(&column.as_str()) {
            errors.push(LineError { line: 1, message: format!("unknown column \"{column}\"") });
        }
    }
    for column in REQUIRED {
        if !headers.iter().any(|h| h == column) {
            errors.push(LineError { line: 1, message: format!("the column \"{column}\" is missing") });
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors, Vec::new());
    }
    let present: Vec<&'static str> = OPTIONAL.iter().copied().filter(|c| headers.iter().any(|h| h == c)).collect();
    let at = |name: &str| headers.iter().position(|h| h == name);
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut read = 0usize;
    for record in reader.records() {
        read += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(LineError { line, message: format!("cannot be read: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if read > MAX_ROWS {
            errors.push(LineError { line, message: format!("a file holds at most {MAX_ROWS} wards") });
            break;
        }
        let cell = |name: &str| at(name).and_then(|i| record.get(i)).map(str::trim).filter(|v| !v.is_empty());
        let mut problems = Vec::new();
        let gss_code = match GssCode::parse("gss_code", cell("gss_code").unwrap_or("")) {
            Ok(code) => Some(code),
            Err(_) => {
                problems.push("gss_code must be a ward's ONS code: E05, W05, S13 or N08 and six digits".to_owned());
                None
            }
        };
        let name = cell("name").unwrap_or("").to_owned();
        if name.is_empty() || name.chars().count() > 120 {
            problems.push("name must be 1 to 120 characters".to_owned());
        }
        let council = cell("council").unwrap_or("").to_ascii_lowercase();
        if council.is_empty() {
            problems.push("council must be the council's slug".to_owned());
        }
        let population = match cell("population").map(str::parse::<i64>) {
            None => None,
            Some(Ok(n)) if (0..=10_000_000).contains(&n) => Some(n),
            Some(_) => {
                problems.push("population must be a whole number from 0 to 10,000,000".to_owned());
                None
            }
        };
        let imd_decile = match cell("imd_decile").map(str::parse::<i16>) {
            None => None,
            Some(Ok(d)) if (1..=10).contains(&d) => Some(d),
            Some(_) => {
                problems.push("imd_decile must be from 1 (most deprived) to 10".to_owned());
                None
            }
        };
        let figures_illustrative = match cell("figures_illustrative").map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "no" | "0") => false,
            Some("true" | "yes" | "1") => true,
            Some(_) => {
                problems.push("figures_illustrative must be true or false".to_owned());
                false
            }
        };
        if let Some(code) = &gss_code
            && let Some(first) = seen.insert(code.as_str().to_owned(), line)
        {
            problems.push(format!("{} is already on line {first}", code.as_str()));
        }
        match gss_code {
            Some(gss_code) if problems.is_empty() => rows.push(Row {
                line,
                gss_code,
                name,
                council,
                partnership: cell("partnership").map(str::to_ascii_lowercase),
                population,
                imd_decile,
                figures_illustrative,
            }),
            _ => errors.extend(problems.into_iter().map(|message| LineError { line, message })),
        }
    }
    (rows, errors, present)
}

/// Imports the wards in `csv_bytes`: every one, in one transaction, or none (the bad lines, each with its line).
#[tracing::instrument(skip_all)]
pub async fn import_csv(
    db: &(impl ConnectionTrait + TransactionTrait),
    csv_bytes: &[u8],
) -> AppResult<Result<Imported, Vec<LineError>>> {
    // Every problem at once: the rows' own, then the organisations they name.
    let (rows, mut errors, present) = parse(csv_bytes);
    // The organisations the file names, in one statement.
    let slugs: HashSet<&str> =
        rows.iter().flat_map(|r| std::iter::once(r.council.as_str()).chain(r.partnership.as_deref())).collect();
    let organisations: HashMap<String, organisation::Model> = organisation::Entity::find()
        .filter(organisation::Column::Slug.is_in(slugs))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.slug.clone(), o))
        .collect();
    // Which council each partnership is tied to, the wards already stored, and which of those members sit for.
    let partnership_ids: Vec<Uuid> = organisations
        .values()
        .filter(|o| o.kind == OrganisationKind::CommunityPartnership.as_db())
        .map(|o| o.id)
        .collect();
    let ties: HashMap<Uuid, Uuid> = entity::community_partnership::Entity::find()
        .filter(entity::community_partnership::Column::OrganisationId.is_in(partnership_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.organisation_id, t.council_id))
        .collect();
    let codes: Vec<&str> = rows.iter().map(|r| r.gss_code.as_str()).collect();
    let stored: HashMap<String, ward::Model> = ward::Entity::find()
        .filter(ward::Column::GssCode.is_in(codes))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.gss_code.clone(), w))
        .collect();
    let seated: HashSet<Uuid> = entity::partnership_member::Entity::find()
        .filter(entity::partnership_member::Column::WardId.is_in(stored.values().map(|w| w.id)))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| m.ward_id)
        .collect();
    let of_kind = |slug: &str, kind: OrganisationKind| -> Result<Uuid, String> {
        match organisations.get(slug) {
            Some(o) if o.kind == kind.as_db() => Ok(o.id),
            Some(_) => Err(format!("\"{slug}\" is not an organisation of kind {}", kind.as_db())),
            None => Err(format!("no organisation has the slug \"{slug}\"")),
        }
    };
    let mut models = Vec::with_capacity(rows.len());
    let now = crate::now();
    for row in &rows {
        let council = of_kind(&row.council, OrganisationKind::Council);
        let partnership =
            row.partnership.as_deref().map(|p| of_kind(p, OrganisationKind::CommunityPartnership)).transpose();
        // A ward's partnership serves the ward's council; a ward its members sit for keeps its partnership.
        let partnership = match (&council, partnership) {
            (Ok(council_id), Ok(Some(partnership_id))) if ties.get(&partnership_id) != Some(council_id) => {
                Err(format!(
                    "\"{}\" is not tied to the council \"{}\" (setPartnershipCouncil)",
                    row.partnership.as_deref().unwrap_or_default(),
                    row.council
                ))
            }
            (_, partnership) => partnership,
        };
        let partnership = match (partnership, stored.get(row.gss_code.as_str())) {
            (Ok(new), Some(old))
                if present.contains(&"partnership") && old.partnership_id != new && seated.contains(&old.id) =>
            {
                Err(format!("{} has ward members sitting for it: remove their seats before moving it", old.gss_code))
            }
            (partnership, _) => partnership,
        };
        match (council, partnership) {
            (Ok(council_id), Ok(partnership_id)) => models.push(ward::ActiveModel {
                id: Set(Uuid::now_v7()),
                gss_code: Set(row.gss_code.as_str().to_owned()),
                name: Set(row.name.clone()),
                council_id: Set(council_id),
                partnership_id: Set(partnership_id),
                population: Set(row.population),
                imd_decile: Set(row.imd_decile),
                figures_illustrative: Set(row.figures_illustrative),
                created_at: Set(now),
                updated_at: Set(now),
            }),
            (council, partnership) => {
                for message in [council.err(), partnership.err()].into_iter().flatten() {
                    errors.push(LineError { line: row.line, message });
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Ok(Err(errors));
    }
    let mut updated = vec![ward::Column::Name, ward::Column::CouncilId, ward::Column::UpdatedAt];
    for (name, column) in [
        ("partnership", ward::Column::PartnershipId),
        ("population", ward::Column::Population),
        ("imd_decile", ward::Column::ImdDecile),
        ("figures_illustrative", ward::Column::FiguresIllustrative),
    ] {
        if present.contains(&name) {
            updated.push(column);
        }
    }
    let codes: Vec<&str> = rows.iter().map(|r| r.gss_code.as_str()).collect();
    let txn = db.begin().await?;
    let existing = ward::Entity::find().filter(ward::Column::GssCode.is_in(codes)).all(&txn).await?.len();
    // 500 rows of 10 values a statement: well inside SQLite's 32,766 parameters.
    for chunk in models.chunks(500) {
        let upsert = OnConflict::column(ward::Column::GssCode).update_columns(updated.clone()).to_owned();
        ward::Entity::insert_many(chunk.to_vec()).on_conflict(upsert).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(Ok(Imported { created: rows.len() - existing, updated: existing }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_line_is_named() {
        let file = "gss_code,name,council,population,imd_decile\n\
                    E05012345,Kirkley and Pakefield,east-suffolk,9000,2\n\
                    E0501234,Nowhere,east-suffolk,,\n\
                    E05012346,,east-suffolk,-5,11\n\
                    E05012345,Kirkley again,east-suffolk,,\n";
        let (rows, errors, _) = parse(file.as_bytes());
        assert_eq!(rows.len(), 1, "the good line parses");
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 4, 4, 5], "{errors:?}");
        assert!(errors[4].message.contains("already on line 2"), "{errors:?}");
        let (_, missing, _) = parse(b"gss,name\nE05012345,x\n");
        assert!(missing.iter().all(|e| e.line == 1) && missing.len() == 3, "{missing:?}");
        let (_, ragged, _) = parse(b"gss_code,name,council\nE05012345,x\n");
        assert_eq!(ragged[0].line, 2, "{ragged:?}");
    }
}
