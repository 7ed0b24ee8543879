//! What each person chose to hear: kinds turned off, and a weekly cap on messages. No row means everything on and
//! no cap. Account messages (a verification code, a sign-in notice) cannot be turned off or capped.
use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait};
use uuid::Uuid;

use super::NotificationKind;
use crate::error::{AppError, AppResult};
use entity::{notification_preference, user};

/// The largest weekly cap one may set: more than any week's messages (a reminder a day and a handful of decisions).
pub const MAX_WEEKLY_CAP: i32 = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preferences {
    pub disabled: BTreeSet<NotificationKind>,
    /// At most this many messages over any seven days (account messages aside); `None`: no cap.
    pub weekly_cap: Option<i32>,
    /// At most this many invitations in any seven days (0 to `caps::INVITATIONS_PER_WEEK`); `None`: that cap.
    pub invitations_per_week: Option<i32>,
}

impl Preferences {
    pub fn enabled(&self, kind: NotificationKind) -> bool {
        kind.is_account() || !self.disabled.contains(&kind)
    }

    fn from_row(row: &notification_preference::Model) -> Self {
        let disabled = row.disabled_kinds.split(',').filter_map(NotificationKind::from_db).collect();
        Self { disabled, weekly_cap: row.weekly_cap, invitations_per_week: row.invitations_per_week }
    }

    fn stored_kinds(&self) -> String {
        let kinds: Vec<&str> = self.disabled.iter().map(|k| k.as_db()).collect();
        format!(",{},", kinds.join(","))
    }
}

pub async fn of_user(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<Preferences> {
    Ok(notification_preference::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|row| Preferences::from_row(&row))
        .unwrap_or_default())
}

/// The preferences of those who set any, in one statement.
pub async fn of_users(db: &impl ConnectionTrait, user_ids: &HashSet<Uuid>) -> AppResult<HashMap<Uuid, Preferences>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(notification_preference::Entity::find()
        .filter(notification_preference::Column::UserId.is_in(user_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.user_id, Preferences::from_row(&row)))
        .collect())
}

/// Who turned `kind` off, in one statement: what a sweep leaves out before writing anything.
pub async fn turned_off(db: &impl ConnectionTrait, kind: NotificationKind) -> AppResult<HashSet<Uuid>> {
    Ok(notification_preference::Entity::find()
        .filter(notification_preference::Column::DisabledKinds.like(format!("%,{},%", kind.as_db())))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect())
}

/// A change to one's preferences: kinds to turn on or off, and the weekly cap (`Some(None)` removes it).
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub kinds: Vec<(NotificationKind, bool)>,
    pub weekly_cap: Option<Option<i32>>,
    pub invitations_per_week: Option<Option<i32>>,
}

/// Applies `change` to the user's preferences and returns them. BAD_USER_INPUT for an account kind turned off or a
/// cap outside 1 to 100 (turn kinds off rather than set a cap of none); NOT_FOUND for an erased account (an old
/// unsubscribe link must not bring its preferences back). One transaction with the row held from its first
/// statement, so two changes at once (two unsubscribe links clicked together) both count.
pub async fn update(
    db: &(impl ConnectionTrait + TransactionTrait),
    user_id: Uuid,
    change: Change,
) -> AppResult<Preferences> {
    let txn = db.begin().await?;
    // The account's row held first, by a write that changes nothing (SQLite: a transaction that reads before it
    // writes may find the file changed meanwhile); none held, no live account.
    let live = user::Entity::update_many()
        .col_expr(user::Column::DisplayName, Expr::col(user::Column::DisplayName))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if live.rows_affected == 0 {
        return Err(AppError::not_found("account"));
    }
    hold(&txn, user_id).await?;
    let mut prefs = of_user(&txn, user_id).await?;
    for (kind, enabled) in change.kinds {
        if kind.is_account() && !enabled {
            return Err(AppError::bad_input(
                "input.kinds",
                format!("{} messages keep the account safe and cannot be turned off", kind.as_db()),
            ));
        }
        if enabled {
            prefs.disabled.remove(&kind);
        } else {
            prefs.disabled.insert(kind);
        }
    }
    if let Some(cap) = change.weekly_cap {
        if let Some(cap) = cap
            && !(1..=MAX_WEEKLY_CAP).contains(&cap)
        {
            return Err(AppError::bad_input("input.weeklyCap", format!("must be from 1 to {MAX_WEEKLY_CAP}")));
        }
        prefs.weekly_cap = cap;
    }
    if let Some(cap) = change.invitations_per_week {
        let most = crate::applications::caps::INVITATIONS_PER_WEEK;
        if let Some(cap) = cap
            && !(0..=most).contains(&cap)
        {
            return Err(AppError::bad_input("input.invitationsPerWeek", format!("must be from 0 to {most}")));
        }
        prefs.invitations_per_week = cap;
    }
    store(&txn, user_id, &prefs).await?;
    txn.commit().await?;
    Ok(prefs)
}

/// Makes the user's preferences row if there is none (the account's row, held, keeps two changes in turn).
async fn hold(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<()> {
    use notification_preference::Column as P;
    let row = notification_preference::ActiveModel {
        user_id: Set(user_id),
        disabled_kinds: Set(",".into()),
        weekly_cap: Set(None),
        invitations_per_week: Set(None),
        updated_at: Set(crate::now()),
    };
    notification_preference::Entity::insert(row)
        .on_conflict(OnConflict::column(P::UserId).update_column(P::UpdatedAt).to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Turns one kind off: what an unsubscribe link does. Idempotent.
pub async fn turn_off(
    db: &(impl ConnectionTrait + TransactionTrait),
    user_id: Uuid,
    kind: NotificationKind,
) -> AppResult<Preferences> {
    update(db, user_id, Change { kinds: vec![(kind, false)], ..Change::default() }).await
}

async fn store(db: &impl ConnectionTrait, user_id: Uuid, prefs: &Preferences) -> AppResult<()> {
    use notification_preference::Column as P;
    let row = notification_preference::ActiveModel {
        user_id: Set(user_id),
        disabled_kinds: Set(prefs.stored_kinds()),
        weekly_cap: Set(prefs.weekly_cap),
        invitations_per_week: Set(prefs.invitations_per_week),
        updated_at: Set(crate::now()),
    };
    notification_preference::Entity::insert(row)
        .on_conflict(
            OnConflict::column(P::UserId)
                .update_columns([P::DisabledKinds, P::WeeklyCap, P::InvitationsPerWeek, P::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
