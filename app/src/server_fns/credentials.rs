//! Registry credentials: the customer's own pull credentials (list, create,
//! revoke, rotate, and what they may pull for the snippets), the admin's
//! pull credentials of a customer and push credentials for CI, and the real
//! tags of a published product's repositories for the catalogue. Auditors may
//! read the admin lists, never change them. Secrets appear only in the
//! answers of create and rotate.

use crate::error::AppError;
use crate::views::{CredentialView, NewCredential, RegistryAccessView, TagView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The pull credentials the logged-in member may see, newest first: their
/// own; an owner sees every credential of the organisation.
#[server(prefix = "/fn", endpoint = "my/credentials")]
pub async fn my_credentials() -> Result<Vec<CredentialView>, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::credentials::{self, Reach};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::Pull).await?;
            let reach = Reach::of_member(me.id, m.organisation_id, m.role);
            credentials::list_for_organisation(&state()?.db, m.organisation_id, reach).await
        }
        .await,
    )
}

/// A new pull credential; `expires_at` is empty (none), a day
/// (`2027-01-31`, valid through its end, UTC) or RFC 3339. `holder`:
/// `member` (the caller's own, the default) or `organisation` (owners:
/// for CI and clusters, survives any member's departure). `products`:
/// product ids separated by commas (empty: every product); `networks`:
/// address ranges (empty: anywhere). The answer carries the secret, shown
/// this once.
#[server(prefix = "/fn", endpoint = "my/create_credential")]
pub async fn create_my_credential(
    name: String,
    expires_at: Option<String>,
    holder: Option<String>,
    products: Option<String>,
    networks: Option<String>,
) -> Result<NewCredential, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::credentials::{self, Limits};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::{Capability, CredentialHolder};
    respond(
        async {
            let (me, m) = require_member(Capability::Pull).await?;
            crate::backend::services::auth::require_confirmed(&me)?;
            let holder = match holder.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
                None => CredentialHolder::Member,
                Some(h) => CredentialHolder::parse(h).ok_or_else(|| AppError::invalid("holder", "member or organisation"))?,
            };
            if holder == CredentialHolder::Organisation && !m.role.may(Capability::ManageCredentials) {
                return Err(AppError::invalid("holder", "only owners make the organisation's credentials"));
            }
            let limits = Limits {
                holder: Some(holder),
                products: credentials::parse_product_ids(products.as_deref().unwrap_or_default())?,
                networks: networks.unwrap_or_default(),
            };
            let expires_at = credentials::parse_expiry(expires_at.as_deref().unwrap_or_default())?;
            let meta = RequestMeta::current().await;
            let st = state()?;
            credentials::create_limited(
                &st.db,
                me.id,
                crate::domain::credential::CredentialKind::Pull,
                &name,
                expires_at,
                &limits,
                st.robots(),
                me.actor(),
                &meta,
            )
            .await
        }
        .await,
    )
}

/// Shows, once, the new secret of one of the customer's own credentials
/// whose Harbor robot had to be made again (the credentials page says why).
#[server(prefix = "/fn", endpoint = "my/reveal_credential")]
pub async fn reveal_my_credential(id: i64) -> Result<NewCredential, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::domain::organisation::Capability;
    use crate::backend::services::harbor;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let (me, m) = require_member(Capability::Pull).await?;
            let meta = RequestMeta::current().await;
            let st = state()?;
            let reach = crate::backend::services::credentials::Reach::of_member(me.id, m.organisation_id, m.role);
            harbor::reveal(&st.db, st.sealer.as_ref(), id, reach, me.actor(), &meta).await
        }
        .await,
    )
}

/// Revokes one of the member's own credentials, or (owners) any of the
/// organisation's; another's is 404.
#[server(prefix = "/fn", endpoint = "my/revoke_credential")]
pub async fn revoke_my_credential(id: i64) -> Result<CredentialView, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::credentials::{self, Reach};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::Pull).await?;
            let meta = RequestMeta::current().await;
            let reach = Reach::of_member(me.id, m.organisation_id, m.role);
            credentials::revoke(&state()?.db, id, reach, me.actor(), &meta).await
        }
        .await,
    )
}

/// A new secret for one of the member's own credentials, or (owners) any of
/// the organisation's; another's is 404.
#[server(prefix = "/fn", endpoint = "my/rotate_credential")]
pub async fn rotate_my_credential(id: i64) -> Result<NewCredential, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::credentials::{self, Reach};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::Pull).await?;
            let meta = RequestMeta::current().await;
            let st = state()?;
            let reach = Reach::of_member(me.id, m.organisation_id, m.role);
            credentials::rotate(&st.db, id, reach, st.robots(), me.actor(), &meta).await
        }
        .await,
    )
}

/// The registry host and the repositories the customer may pull now, with
/// their real tags (for the copy-ready snippets).
#[server(prefix = "/fn", endpoint = "my/registry_access")]
pub async fn my_registry_access() -> Result<RegistryAccessView, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::credentials;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let (_, m) = require_member(crate::domain::organisation::Capability::Pull).await?;
            let st = state()?;
            let mut access = credentials::registry_access(&st.db, m.organisation_id, &st.registry.host).await?;
            access.gateway_host = st.registry.gateway_host.clone();
            Ok(access)
        }
        .await,
    )
}

/// A customer's pull credentials (admins and auditors). A staff account's id
/// is 404, as for every customer lookup.
#[server(prefix = "/fn", endpoint = "admin/customer_credentials")]
pub async fn customer_credentials(customer_id: i64) -> Result<Vec<CredentialView>, AppError> {
    use crate::domain::Role;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{credentials, customers};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let db = &state()?.db;
            customers::get(db, customer_id).await?;
            credentials::list_for_organisation(db, customer_id, credentials::Reach::Any).await
        }
        .await,
    )
}

/// A pull credential for a customer, made by an admin (e.g. on the phone).
#[server(prefix = "/fn", endpoint = "admin/create_credential")]
pub async fn create_customer_credential(
    customer_id: i64,
    name: String,
    expires_at: Option<String>,
) -> Result<NewCredential, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{credentials, customers};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let expires_at = credentials::parse_expiry(expires_at.as_deref().unwrap_or_default())?;
            let st = state()?;
            customers::get(&st.db, customer_id).await?;
            let holder = customers::first_owner(&st.db, customer_id).await?;
            let meta = RequestMeta::current().await;
            credentials::create(&st.db, holder, crate::domain::credential::CredentialKind::Pull, &name, expires_at, st.robots(), admin.actor(), &meta)
                .await
        }
        .await,
    )
}

/// Revokes any credential, pull or push.
#[server(prefix = "/fn", endpoint = "admin/revoke_credential")]
pub async fn revoke_credential(id: i64) -> Result<CredentialView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::credentials;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let meta = RequestMeta::current().await;
            credentials::revoke(&state()?.db, id, None, admin.actor(), &meta).await
        }
        .await,
    )
}

/// A new secret for any live credential, pull or push.
#[server(prefix = "/fn", endpoint = "admin/rotate_credential")]
pub async fn rotate_credential(id: i64) -> Result<NewCredential, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::credentials;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let meta = RequestMeta::current().await;
            let st = state()?;
            credentials::rotate(&st.db, id, None, st.robots(), admin.actor(), &meta).await
        }
        .await,
    )
}

/// Every admin's push credentials (admins and auditors).
#[server(prefix = "/fn", endpoint = "admin/push_credentials")]
pub async fn push_credentials() -> Result<Vec<CredentialView>, AppError> {
    use crate::domain::Role;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::credentials;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            credentials::list_push(&state()?.db).await
        }
        .await,
    )
}

/// A push credential (push and pull on every product's repositories) for
/// the logged-in admin, for the vendor's CI.
#[server(prefix = "/fn", endpoint = "admin/create_push_credential")]
pub async fn create_push_credential(name: String, expires_at: Option<String>) -> Result<NewCredential, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::credentials;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let expires_at = credentials::parse_expiry(expires_at.as_deref().unwrap_or_default())?;
            let meta = RequestMeta::current().await;
            credentials::create(&state()?.db, admin.id, crate::domain::credential::CredentialKind::Push, &name, expires_at, None, admin.actor(), &meta)
                .await
        }
        .await,
    )
}

/// One repository pattern of a product and the repositories seen pushed
/// under it (an exact name is listed even before its first push, with no
/// tags).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternTags {
    pub pattern: String,
    pub repositories: Vec<(String, Vec<TagView>)>,
}

/// The real tags of a published product's repositories (anyone, as the
/// catalogue page is public; drafts and archived products are 404).
#[server(prefix = "/fn", endpoint = "catalogue/tags")]
pub async fn catalogue_tags(slug: String) -> Result<Vec<PatternTags>, AppError> {
    use crate::backend::services::{catalogue, credentials};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let db = &state()?.db;
            let product = catalogue::get_published(db, &slug).await?;
            let tags = credentials::tags_by_repository(db).await?;
            Ok(product
                .repositories
                .into_iter()
                .map(|pattern| PatternTags { repositories: credentials::expand(&pattern, &tags), pattern })
                .collect())
        }
        .await,
    )
}

/// Harbor provisioning at a glance for the admin dashboard (auditors may
/// read); `None` when the deployment does not use Harbor.
#[server(prefix = "/fn", endpoint = "admin/provisioning_status")]
pub async fn provisioning_status() -> Result<Option<crate::views::ProvisioningView>, AppError> {
    use crate::domain::Role;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::harbor;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let st = state()?;
            match &st.harbor {
                Some(_) => harbor::health(&st.db).await.map(Some),
                None => Ok(None),
            }
        }
        .await,
    )
}
