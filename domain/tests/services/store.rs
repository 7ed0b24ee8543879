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
    let whole = entity::need::Model::decode_checked_at(&rows[0], 0, Columns::ALL).expect("the right types decode");
    assert_eq!((whole.id, whole.volunteers_needed), (need.id, 3));
    check::<entity::need::Model>(&rows[0], 0, Columns::ALL).expect("and check");

    let wrong = columns.replace("volunteers_needed", "2.5 AS volunteers_needed");
    let rows = t.db.query_all_raw(select(&wrong)).await.expect("read");
    let checked = check::<entity::need::Model>(&rows[0], 0, Columns::ALL);
    assert!(matches!(checked, Err(sea_orm::DbErr::Type(_))), "{checked:?}");
    let decoded = entity::need::Model::decode_checked_at(&rows[0], 0, Columns::ALL).map(|n| n.volunteers_needed);
    assert!(decoded.is_err(), "{decoded:?}");
    // As a by-id read decodes it: an error for the caller, who maps it to INTERNAL_SERVER_ERROR.
    let select = sea_orm::sea_query::Query::select()
        .expr(sea_orm::sea_query::Expr::cust(wrong.clone()))
        .from(entity::need::Entity)
        .to_owned();
    let read: Result<Vec<Positional<entity::need::Model>>, _> = fetch_rows(&t.db, &select).await;
    assert!(read.is_err(), "a wrong type is refused");
}
