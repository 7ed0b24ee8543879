//! Which columns a document can show: listings and child pages read only those (`domain::store::rows::Shown`).
//! The table says which GraphQL fields read which column, so it names every area's fields.
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use domain::store::rows::Shown;

/// The columns a document may leave out, each with the GraphQL fields that read it. A column is read when a field
/// of one of those names appears anywhere in the document, whatever its type, so at worst a column is read that
/// nothing shows. Only the columns `domain::store::rows` marks `shown` may be left out, and exactly those are
/// listed (a test holds the two together); their accessors on a `Read` row are fallible, so a resolver that reads
/// one its field does not name here gets an internal error in a listing, not a default passed off as data.
const READ_BY: &[(&str, &str, &[&str])] = &[
    ("needs", "title", &["title"]),
    ("needs", "description", &["description"]),
    ("needs", "category", &["category"]),
    ("needs", "required_skills", &["requiredSkills"]),
    ("needs", "languages", &["languages"]),
    ("needs", "safeguarding", &["safeguarding"]),
    ("needs", "weekly_schedule", &["schedule", "sessions"]),
    ("needs", "end_date", &["schedule", "sessions"]),
    ("needs", "postcode", &["postcode"]),
    ("needs", "lat", &["location"]),
    ("needs", "lng", &["location"]),
    ("needs", "remote", &["remote"]),
    ("needs", "volunteers_needed", &["volunteersNeeded", "placesLeft", "waitlistCap", "sessionCapacity", "sessions"]),
    ("needs", "places_taken", &["placesTaken", "placesLeft"]),
    ("needs", "published_at", &["publishedAt", "sessions"]),
    ("needs", "updated_at", &["updatedAt"]),
    ("needs", "waitlist_cap", &["waitlistCap"]),
    ("organisations", "slug", &["slug"]),
    ("organisations", "name", &["name"]),
    ("organisations", "kind", &["kind"]),
    ("organisations", "description", &["description"]),
    ("organisations", "website", &["website"]),
    ("organisations", "contact_email", &["contactEmail"]),
    ("organisations", "postcode", &["postcode"]),
    ("organisations", "lat", &["location"]),
    ("organisations", "lng", &["location"]),
    ("organisations", "verified", &["verified"]),
    ("organisations", "updated_at", &["updatedAt"]),
    ("organisations", "charity_number", &["charityNumber"]),
    ("organisations", "company_number", &["companyNumber"]),
    ("organisations", "local_authority_code", &["localAuthorityCode"]),
    ("volunteer_profiles", "display_name", &["displayName"]),
    ("volunteer_profiles", "bio", &["bio"]),
    ("volunteer_profiles", "skills", &["skills"]),
    ("volunteer_profiles", "interests", &["interests"]),
    ("volunteer_profiles", "languages", &["languages"]),
    ("volunteer_profiles", "postcode", &["postcode"]),
    ("volunteer_profiles", "lat", &["location"]),
    ("volunteer_profiles", "lng", &["location"]),
    ("volunteer_profiles", "travel_radius_km", &["travelRadiusKm"]),
    ("volunteer_profiles", "availability", &["availability"]),
    ("volunteer_profiles", "dbs_level", &["dbsCheck"]),
    ("volunteer_profiles", "dbs_issued_on", &["dbsCheck"]),
    ("volunteer_profiles", "dbs_recheck_by", &["dbsCheck"]),
    ("volunteer_profiles", "dbs_update_service", &["dbsCheck"]),
    ("volunteer_profiles", "updated_at", &["updatedAt"]),
    ("applications", "message", &["message"]),
    ("applications", "applied_at", &["appliedAt"]),
    ("applications", "invited_at", &["invitedAt", "offerExpiresAt"]),
    ("applications", "accepted_at", &["acceptedAt"]),
    ("applications", "declined_at", &["declinedAt"]),
    ("applications", "withdrawn_at", &["withdrawnAt"]),
    ("applications", "completed_at", &["completedAt"]),
    ("applications", "updated_at", &["updatedAt"]),
    ("applications", "waitlisted_at", &["waitlistedAt", "offerExpiresAt"]),
    ("applications", "expired_at", &["expiredAt"]),
];

/// The columns `document` can show. Walks every selection set with a stack of its own, so no document (not
/// even a deep fragment that validation will later refuse as unused) can exhaust the call stack.
pub fn shown_by(document: &ExecutableDocument) -> Shown {
    let mut named: Vec<&str> = Vec::new();
    let mut sets: Vec<&SelectionSet> = document.operations.iter().map(|(_, o)| &o.node.selection_set.node).collect();
    sets.extend(document.fragments.values().map(|f| &f.node.selection_set.node));
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    named.push(field.node.name.node.as_str());
                    sets.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => sets.push(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut shown = Shown::ALL;
    for (table, column, fields) in READ_BY {
        if !fields.iter().any(|f| named.contains(f)) {
            shown = shown.without(table, column);
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::{READ_BY, Shown, shown_by};

    fn names<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|c| IdenStatic::as_str(&c)).collect()
    }

    fn shown(query: &str) -> Shown {
        shown_by(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    fn reads<E: EntityTrait>(shown: &Shown, column: &str) -> bool {
        let index = names::<E>().iter().position(|c| *c == column).expect("a column of the entity");
        shown.columns::<E>().has(index)
    }

    /// Every column that may be left out is one of its entity's, named by at least one field, and marked sheddable
    /// in domain (so its accessor makes resolvers handle its absence); every sheddable column is listed.
    #[test]
    fn columns_left_out_are_the_entities_own() {
        use domain::store::rows::ByPosition;
        use entity::*;
        fn sheddable<M: ByPosition>() -> Vec<&'static str> {
            M::COLUMNS.iter().zip(M::SHEDDABLE).filter(|(_, shed)| **shed).map(|(c, _)| *c).collect()
        }
        let tables = [
            ("needs", names::<need::Entity>(), sheddable::<need::Model>()),
            ("organisations", names::<organisation::Entity>(), sheddable::<organisation::Model>()),
            ("volunteer_profiles", names::<volunteer_profile::Entity>(), sheddable::<volunteer_profile::Model>()),
            ("applications", names::<application::Entity>(), sheddable::<application::Model>()),
        ];
        for (table, names, shed) in &tables {
            let listed: Vec<&str> = READ_BY.iter().filter(|(t, _, _)| t == table).map(|(_, c, _)| *c).collect();
            assert_eq!(&listed, shed, "{table}: READ_BY and domain's sheddable columns differ");
            assert!(listed.iter().all(|c| names.contains(c)), "{table}: {listed:?}");
        }
        for (table, column, fields) in READ_BY {
            assert!(
                tables.iter().any(|(t, _, _)| t == table),
                "{table} is not a table whose columns a document selects"
            );
            assert!(!fields.is_empty(), "{table}.{column} is read by no field");
            // Pages are cut, ordered and joined by these: left out, they would decode as defaults and pages
            // would silently come out wrong.
            for key in ["id", "created_at", "organisation_id", "need_id", "volunteer_id", "user_id", "status"] {
                assert_ne!(*column, key, "{table}.{key} must always be read");
            }
        }
    }

    #[test]
    fn a_document_shows_the_columns_its_fields_read() {
        use entity::*;
        let listing = shown("{ needs { edges { node { id title organisation { name } } } } }");
        assert!(!reads::<need::Entity>(&listing, "description"));
        assert!(!reads::<need::Entity>(&listing, "weekly_schedule"));
        assert!(!reads::<need::Entity>(&listing, "lat"));
        assert!(!reads::<organisation::Entity>(&listing, "contact_email"));
        assert!(reads::<need::Entity>(&listing, "title"));
        assert!(reads::<organisation::Entity>(&listing, "name"));
        // Keys, status and the dates cursors sort by are always read.
        for always in ["id", "organisation_id", "status", "created_at", "start_date"] {
            assert!(reads::<need::Entity>(&listing, always), "needs.{always}");
        }
        // Through fragments and inline fragments, on whatever type.
        let fragments =
            shown("query { node(id: \"x\") { ...F ... on Need { schedule } } } fragment F on VolunteerProfile { bio }");
        assert!(reads::<need::Entity>(&fragments, "weekly_schedule"));
        assert!(reads::<need::Entity>(&fragments, "end_date"));
        assert!(reads::<volunteer_profile::Entity>(&fragments, "bio"));
        assert!(!reads::<volunteer_profile::Entity>(&fragments, "skills"));
        // A field name shared by types reads the column on each; a computed field reads what it computes from.
        let described =
            shown("{ organisation(id: \"x\") { description location } needs { edges { node { placesLeft } } } }");
        assert!(reads::<need::Entity>(&described, "description"));
        assert!(reads::<need::Entity>(&described, "lng"));
        assert!(reads::<need::Entity>(&described, "volunteers_needed"));
        assert!(reads::<need::Entity>(&described, "places_taken"));
        assert!(reads::<application::Entity>(&Shown::ALL, "message"));
    }
}
