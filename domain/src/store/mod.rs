//! The read path: keyset pages (`page`), change feeds (`changes`), rows decoded by position with only the columns a caller shows (`rows`),
//! the read connections (`reads`), a streaming replica for public reads (`replica`), and text search.
pub mod changes;
pub mod page;
pub mod reads;
pub mod replica;
pub mod rows;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition};

pub use reads::Reads;

use crate::error::{AppError, AppResult};

/// Case-insensitive "contains every word" search over some text columns. `%` and `_` are matched literally.
pub fn text_search<C: ColumnTrait + Copy>(
    field: &str,
    text: &str,
    columns: impl IntoIterator<Item = C> + Clone,
) -> AppResult<Condition> {
    let text = text.trim().to_lowercase();
    if text.chars().count() > 100 {
        return Err(AppError::bad_input(field, "must be at most 100 characters"));
    }
    let mut all = Condition::all();
    for word in text.split_whitespace().take(8) {
        let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let mut any = Condition::any();
        for column in columns.clone() {
            // Qualified: the listing may join a table with columns of the same names.
            let column = Expr::col((column.entity_name(), column));
            any = any.add(Expr::expr(Func::lower(column)).like(LikeExpr::new(pattern.clone()).escape('\\')));
        }
        all = all.add(any);
    }
    Ok(all)
}
