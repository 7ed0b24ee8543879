//! The read path decodes by column position; a value of the wrong SQL type is an error, never a panic or a wrong
//! value, whether the model is read checked (by id) or its result's first row is checked (listings, pages).
use domain::needs::NeedCategory;
use domain::needs::service as needs;
use domain::store::page::fetch_rows;
use domain::store::rows::{ByPosition, Columns, Positional, check};
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestDb, remote_need};

#[tokio::test]
async fn a_value_of_the_wrong_type_is_an_error() {
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let need = needs::create(&t.db, &coordinator, remote_need(org, "Pavilion repaint", NeedCategory::Premises, 3))
        .await
        .expect("created");
    // The need's own columns, in order, then the same with a fraction where a whole number of places belongs.
    let columns = entity::need::Model::COLUMNS.join(", ");
    let select = |columns: &str| {
        Statement::from_string(
            t.db.get_database_backend(),
            format!("SELECT {columns} FROM needs WHERE title = 'Pavilion repaint'"),
        )
    };
    let rows = t.db.query_all_raw(select(&columns)).await.expect("read");
    let whole = entity::need::Model::decode_checked_at(&rows[0], 0).expect("the right types decode");
    assert_eq!((whole.id, whole.volunteers_needed), (need.id, 3));
    check::<entity::need::Model>(&rows[0], 0, Columns::ALL).expect("and check");

    let wrong = columns.replace("volunteers_needed", "2.5 AS volunteers_needed");
    let rows = t.db.query_all_raw(select(&wrong)).await.expect("read");
    let checked = check::<entity::need::Model>(&rows[0], 0, Columns::ALL);
    assert!(matches!(checked, Err(sea_orm::DbErr::Type(_))), "{checked:?}");
    let decoded = entity::need::Model::decode_checked_at(&rows[0], 0).map(|n| n.volunteers_needed);
    assert!(decoded.is_err(), "{decoded:?}");
    // As a by-id read decodes it: an error for the caller, who maps it to INTERNAL_SERVER_ERROR.
    let select = sea_orm::sea_query::Query::select()
        .expr(sea_orm::sea_query::Expr::cust(wrong.clone()))
        .from(entity::need::Entity)
        .to_owned();
    let read: Result<Vec<Positional<entity::need::Model>>, _> = fetch_rows(&t.db, &select).await;
    assert!(read.is_err(), "a wrong type is refused");
}

/// A listing that leaves a column out hands back a row that says so: its accessor is an internal error, not the
/// column type's default passed off as data; the columns read (and those always read) are there.
#[tokio::test]
async fn a_column_left_out_cannot_be_read_as_data() {
    use domain::store::rows::{Read, Shown};
    use sea_orm::{EntityTrait, QueryTrait};
    let t = TestDb::new().await;
    let coordinator = t.person("Amara").await;
    let org = t.organisation(&coordinator).await;
    let created = needs::create(&t.db, &coordinator, remote_need(org, "Jobs club", NeedCategory::JobsClub, 2))
        .await
        .expect("created");
    // `status` is always read: leaving it out changes nothing.
    let shown = Shown::ALL.without("needs", "description").without("needs", "status");
    let mut select = entity::need::Entity::find().into_query();
    select.clear_selects();
    shown.select::<entity::need::Entity>(&mut select, "");
    let rows = t.db.query_all_raw(t.db.get_database_backend().build(&select)).await.expect("read");
    check::<entity::need::Model>(&rows[0], 0, shown.columns::<entity::need::Entity>()).expect("checked");
    let need: Read<entity::need::Model> =
        entity::need::Model::read_at(&rows[0], 0, shown.columns::<entity::need::Entity>()).expect("decoded");
    assert_eq!(need.title().map(String::as_str), Ok("Jobs club"));
    assert_eq!(need.volunteers_needed(), Ok(&2));
    assert_eq!(need.status(), "DRAFT");
    assert!(matches!(need.description(), Err(domain::error::AppError::Internal(_))), "{:?}", need.description());
    assert!(need.as_whole().is_none(), "a partial row is not a whole model");

    // A service's model is whole.
    let whole = Read::whole(created);
    assert!(whole.description().is_ok() && whole.as_whole().is_some());
}
