//! Admin: REST API keys (created here or with `portcullis apikey create`).

use crate::error::AppError;
use crate::views::{ApiKeyView, NewApiKey};
use leptos::prelude::*;

#[server(prefix = "/fn", endpoint = "admin/api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    use crate::backend::services::api_keys;
    use crate::backend::services::auth::require_role;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            api_keys::list(&state()?.db).await
        }
        .await,
    )
}

/// The answer carries the secret, shown this once.
#[server(prefix = "/fn", endpoint = "admin/create_api_key")]
pub async fn create_api_key(name: String, role: String) -> Result<NewApiKey, AppError> {
    use crate::backend::services::api_keys;
    use crate::backend::services::auth::require_role;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let role = api_keys::parse_role(&role)?;
            let meta = RequestMeta::current().await;
            api_keys::create(&state()?.db, &name, role, admin.actor(), &meta).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<ApiKeyView, AppError> {
    use crate::backend::services::api_keys;
    use crate::backend::services::auth::require_role;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let meta = RequestMeta::current().await;
            api_keys::revoke(&state()?.db, id, admin.actor(), &meta).await
        }
        .await,
    )
}
