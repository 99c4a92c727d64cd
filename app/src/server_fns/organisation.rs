//! The customer's organisation: its members and invitations (every member
//! sees them), and what owners do (invite, remove, roles, ownership, the
//! name). Leaving is for every member but the last owner.

use crate::error::AppError;
use crate::views::OrganisationView;
use leptos::prelude::*;

/// The caller's organisation with its members and invitations.
#[server(prefix = "/fn", endpoint = "my/organisation")]
pub async fn my_organisation() -> Result<OrganisationView, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::organisations;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (_, m) = require_member(Capability::Pull).await?;
            organisations::get(&state()?.db, m.organisation_id).await
        }
        .await,
    )
}

/// Invites a colleague by e-mail with a role (`owner`, `billing`,
/// `member`; owners only). The same answer whether or not the address has
/// an account.
#[server(prefix = "/fn", endpoint = "my/invite")]
pub async fn invite_member(email: String, role: String) -> Result<(), AppError> {
    use crate::backend::services::auth::{require_confirmed, require_member};
    use crate::backend::services::organisations;
    use crate::backend::web::respond;
    use crate::domain::organisation::{Capability, MemberRole};
    respond(
        async {
            let (me, m) = require_member(Capability::ManageMembers).await?;
            require_confirmed(&me)?;
            let role = MemberRole::parse(&role).ok_or_else(|| AppError::invalid("role", "owner, billing or member"))?;
            organisations::invite(&m, me.actor(), &email, role).await
        }
        .await,
    )
}

/// Removes a member or withdraws an invitation (owners only); the member's
/// own credentials are revoked at once.
#[server(prefix = "/fn", endpoint = "my/remove_member")]
pub async fn remove_member(id: i64) -> Result<(), AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::organisations;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::ManageMembers).await?;
            let meta = RequestMeta::current().await;
            organisations::remove(&state()?.db, &m, me.actor(), id, &meta).await
        }
        .await,
    )
}

/// Gives a member another role (owners only; an owner stays).
#[server(prefix = "/fn", endpoint = "my/member_role")]
pub async fn set_member_role(id: i64, role: String) -> Result<(), AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::organisations;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::{Capability, MemberRole};
    respond(
        async {
            let (me, m) = require_member(Capability::ManageMembers).await?;
            let role = MemberRole::parse(&role).ok_or_else(|| AppError::invalid("role", "owner, billing or member"))?;
            let meta = RequestMeta::current().await;
            organisations::set_role(&state()?.db, &m, me.actor(), id, role, &meta).await
        }
        .await,
    )
}

/// Hands ownership to another member; the caller becomes a member.
#[server(prefix = "/fn", endpoint = "my/transfer_ownership")]
pub async fn transfer_ownership(id: i64) -> Result<(), AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::organisations;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::ManageMembers).await?;
            let meta = RequestMeta::current().await;
            organisations::transfer(&state()?.db, &m, me.actor(), id, &meta).await
        }
        .await,
    )
}

/// Renames the organisation (owners only).
#[server(prefix = "/fn", endpoint = "my/rename_organisation")]
pub async fn rename_organisation(name: String) -> Result<(), AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::organisations;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::ManageMembers).await?;
            let meta = RequestMeta::current().await;
            organisations::rename(&state()?.db, &m, me.actor(), &name, &meta).await
        }
        .await,
    )
}

/// Leaves the organisation (the last owner cannot): the caller's own
/// credentials are revoked.
#[server(prefix = "/fn", endpoint = "my/leave_organisation")]
pub async fn leave_organisation() -> Result<(), AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::organisations;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::organisation::Capability;
    respond(
        async {
            let (me, m) = require_member(Capability::Pull).await?;
            let meta = RequestMeta::current().await;
            organisations::leave(&state()?.db, &m, me.actor(), &meta).await
        }
        .await,
    )
}
