//! GraphQL's side of the one error type: `AppError` (in `domain`) mapped to `extensions.code`, here and nowhere
//! else. A resolver returns `ApiResult`, and `?` on anything that returns `AppResult` (or a `DbErr`) converts.
pub use domain::error::{AppError, AppResult};

use async_graphql::ErrorExtensions;

/// An `AppError` on its way out to GraphQL. A type of `api`'s own, since the conversion into async-graphql's error
/// may only be written beside one of the two types; `AppError` has no `Display`, so this is the only way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError(pub AppError);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self(err.into())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(ApiError(err): ApiError) -> Self {
        match &err {
            AppError::Internal(cause) => tracing::error!(%cause, "internal error"),
            AppError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let code = err.code();
        let field = match &err {
            AppError::BadInput { field, .. } => Some(field.clone()),
            _ => None,
        };
        let similar: Option<Vec<String>> = match &err {
            AppError::Full { similar, .. } => Some(
                similar
                    .iter()
                    .map(|id| crate::kit::ids::encode(crate::kit::ids::NodeKind::Need, *id).to_string())
                    .collect(),
            ),
            _ => None,
        };
        let retry_after = match &err {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        async_graphql::Error::new(err.public_message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = field {
                ext.set("field", field);
            }
            if let Some(similar) = similar {
                ext.set("similarNeeds", similar);
            }
            if let Some(secs) = retry_after {
                ext.set("retryAfterSeconds", secs);
            }
        })
    }
}

/// For the places that build a GraphQL error outside a resolver's return (the HTTP layer's refusals).
pub fn to_graphql(err: AppError) -> async_graphql::Error {
    ApiError(err).into()
}
