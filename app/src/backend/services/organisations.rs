//! Organisations: a customer is an organisation whose members have a role
//! (`domain::organisation::MemberRole`). Founding (with every customer
//! account made by sign-up, an admin, the REST API or the CLI), invitations
//! (extending the accounts' invitation: a pending member and the
//! `Invitation` mail, whose single-use, expiring link sets the password and
//! so accepts), removal and leaving (the member's own credentials are
//! revoked in the same transaction; the organisation's stay), roles and
//! ownership (an organisation always keeps an owner), the name. Every
//! change is audited with the member and the organisation.

use crate::backend::db::organisations::{MemberRow, OrganisationRow};
use crate::backend::db::{self, Db, Tx};
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::services::audit::attempts::Attempt;
use crate::backend::services::recovery;
use crate::backend::web::password::PasswordHash;
use crate::backend::web::request::{state, RequestMeta};
use crate::domain::mail::LinkPurpose;
use crate::domain::organisation::{keeps_an_owner, parse_name, MemberRole};
use crate::domain::time::rfc3339;
use crate::domain::{Email, Role};
use crate::error::AppError;
use crate::views::{Membership, MemberView, OrganisationView};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Makes the organisation of a new customer account (its id is the
/// account's), the account its owner. In the transaction that made it.
pub async fn found_in(tx: &mut Tx, founder: i64, name: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let name: String = name.trim().chars().take(200).collect();
    let name = if name.is_empty() { format!("Customer {founder}") } else { name };
    db::organisations::insert(tx, founder, &name, now).await
}

pub fn member_view(m: MemberRow) -> MemberView {
    MemberView {
        id: m.id,
        email: m.email,
        name: m.name,
        role: m.member_role,
        joined_at: m.joined_at.map(rfc3339),
        invited_by: m.invited_by_email,
        disabled: m.disabled,
        last_login_at: m.last_login_at.map(rfc3339),
        last_pulled_at: m.last_pulled_at.map(rfc3339),
    }
}

fn view(o: OrganisationRow, members: Vec<MemberRow>) -> OrganisationView {
    OrganisationView {
        id: o.id,
        name: o.name,
        created_at: rfc3339(o.created_at),
        members: members.into_iter().map(member_view).collect(),
    }
}

/// An organisation with its members and pending invitations.
pub async fn get(db: &Db, org: i64) -> Result<OrganisationView, AppError> {
    let o = db::organisations::find(db, org).await?.ok_or(AppError::NotFound)?;
    let members = db::organisations::members(db, org).await?;
    Ok(view(o, members))
}

fn event(actor: Actor, action: &'static str, org: i64, member: i64, meta: &RequestMeta) -> AuditEvent {
    AuditEvent::new(actor, action, Outcome::Success).target("user", member).subject(member).organisation(org).meta(meta)
}

/// Invites `email` to `me`'s organisation with `role` (owners only; the
/// caller checked). A new address gets an account waiting for its
/// password and the invitation mail; an account without an organisation
/// (a former member) is invited the same way; one still invited here gets
/// a fresh link. Any other address (a member elsewhere, staff) gets
/// nothing and the inviter the same answer, so invitations reveal no
/// accounts; the audit log says which it was.
pub async fn invite(me: &Membership, inviter: Actor, email: &str, role: MemberRole) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let Some(inviter_id) = inviter.id() else { return Err(AppError::Forbidden) };
    if let Err(retry_after_secs) = st.mail.limiter.check(meta.ip, email.as_str()).await? {
        st.attempts.note(Attempt::denied("organisation.invite", "rate_limited"), meta.ip, Utc::now(), || json!({ "email": email.as_str() }));
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let org = me.organisation_id;
    let now = Utc::now();
    let mut tx = st.db.begin().await?;
    let existing = db::users::find_by_email(&st.db, &email).await?;
    let details = json!({ "email": email.as_str(), "role": role.as_str(), "organisation": me.organisation });
    let user = match existing {
        None => {
            let id = match db::users::insert(&mut tx, &email, &PasswordHash::unusable(), Role::Customer, now, false).await {
                Ok(id) => id,
                Err(e) if db::is_unique_violation(&e) => return Err(AppError::conflict("email", "try again")),
                Err(e) => return Err(e.into()),
            };
            Some((id, "new_account"))
        }
        Some(u) if u.role == Role::Customer && !u.disabled && u.organisation_id.is_none() => Some((u.id, "former_member")),
        Some(u) if u.organisation_id == Some(org) && u.joined_at.is_none() => Some((u.id, "resent")),
        Some(u) if u.organisation_id == Some(org) => {
            return Err(AppError::conflict("email", "this person is already a member"));
        }
        Some(u) => {
            let reason = if u.role != Role::Customer { "staff_account" } else if u.disabled { "account_disabled" } else { "member_elsewhere" };
            audit::record(
                &mut tx,
                &AuditEvent::new(inviter, "organisation.invite", Outcome::Failure)
                    .target("user", u.id)
                    .organisation(org)
                    .meta(&meta)
                    .details(json!({ "email": email.as_str(), "role": role.as_str(), "reason": reason })),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    let Some((id, how)) = user else { return Ok(()) };
    db::organisations::attach(&mut tx, id, org, role, inviter_id).await?;
    db::mail::retire_links(&mut tx, id, &[LinkPurpose::Invite], now).await?;
    let mail_id = recovery::invite_in(&mut tx, id, &email).await?;
    let mut details = details;
    details["how"] = json!(how);
    details["mail_id"] = json!(mail_id);
    audit::record(&mut tx, &event(inviter, "organisation.invite", org, id, &meta).details(details)).await?;
    tx.commit().await?;
    Ok(())
}

/// The member `member` of `org`, or `NotFound` (ids of other
/// organisations' people reveal nothing).
async fn member(tx: &mut Tx, org: i64, member: i64) -> Result<MemberRow, AppError> {
    db::organisations::member_in(tx, org, member).await?.ok_or(AppError::NotFound)
}

/// Takes `who` out of `org`: their own credentials revoked, the rule that
/// an owner stays checked with the owners locked.
async fn take_out(tx: &mut Tx, org: i64, who: &MemberRow, now: DateTime<Utc>) -> Result<Vec<i64>, AppError> {
    let owners = db::organisations::lock_owners(tx, org).await?;
    if who.member_role == MemberRole::Owner && who.joined_at.is_some() {
        let after = owners.iter().filter(|id| **id != who.id).count() as i64;
        keeps_an_owner(after).map_err(|m| AppError::conflict("member", m))?;
    }
    let revoked = db::credentials::revoke_member_held(tx, org, who.id, now).await?;
    db::organisations::detach(tx, who.id).await?;
    db::mail::retire_links(tx, who.id, &[LinkPurpose::Invite], now).await?;
    Ok(revoked)
}

/// An owner removes a member (or withdraws an invitation): the member's
/// credentials stop at their next token request; the organisation's keep
/// working.
pub async fn remove(db: &Db, me: &Membership, actor: Actor, member_id: i64, meta: &RequestMeta) -> Result<(), AppError> {
    if actor.id() == Some(member_id) {
        return Err(AppError::invalid("member", "to leave the organisation yourself, use Leave"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let who = member(&mut tx, me.organisation_id, member_id).await?;
    let revoked = take_out(&mut tx, me.organisation_id, &who, now).await?;
    let action = if who.joined_at.is_some() { "organisation.member_remove" } else { "organisation.invite_withdraw" };
    audit::record(
        &mut tx,
        &event(actor, action, me.organisation_id, who.id, meta).details(json!({
            "email": who.email, "role": who.member_role.as_str(), "organisation": me.organisation,
            "credentials_revoked": revoked,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A member leaves (the last owner cannot).
pub async fn leave(db: &Db, me: &Membership, actor: Actor, meta: &RequestMeta) -> Result<(), AppError> {
    let Some(id) = actor.id() else { return Err(AppError::Forbidden) };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let who = member(&mut tx, me.organisation_id, id).await?;
    let revoked = take_out(&mut tx, me.organisation_id, &who, now).await?;
    audit::record(
        &mut tx,
        &event(actor, "organisation.member_leave", me.organisation_id, id, meta)
            .details(json!({ "role": who.member_role.as_str(), "organisation": me.organisation, "credentials_revoked": revoked })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An owner gives a member another role (an owner stays).
pub async fn set_role(db: &Db, me: &Membership, actor: Actor, member_id: i64, role: MemberRole, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let owners = db::organisations::lock_owners(&mut tx, me.organisation_id).await?;
    let who = member(&mut tx, me.organisation_id, member_id).await?;
    if who.member_role == role {
        return Ok(());
    }
    if who.member_role == MemberRole::Owner && owners.contains(&who.id) {
        keeps_an_owner(owners.len() as i64 - 1).map_err(|m| AppError::conflict("role", m))?;
    }
    db::organisations::set_role(&mut tx, who.id, role).await?;
    audit::record(
        &mut tx,
        &event(actor, "organisation.role_change", me.organisation_id, who.id, meta).details(json!({
            "email": who.email, "from": who.member_role.as_str(), "to": role.as_str(), "organisation": me.organisation,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An owner hands ownership to a joined member and becomes a member.
pub async fn transfer(db: &Db, me: &Membership, actor: Actor, to: i64, meta: &RequestMeta) -> Result<(), AppError> {
    let Some(my_id) = actor.id() else { return Err(AppError::Forbidden) };
    if my_id == to {
        return Err(AppError::invalid("member", "choose another member"));
    }
    let mut tx = db.begin().await?;
    db::organisations::lock_owners(&mut tx, me.organisation_id).await?;
    let who = member(&mut tx, me.organisation_id, to).await?;
    if who.joined_at.is_none() || who.disabled {
        return Err(AppError::conflict("member", "ownership goes to a member who has accepted their invitation"));
    }
    db::organisations::set_role(&mut tx, to, MemberRole::Owner).await?;
    db::organisations::set_role(&mut tx, my_id, MemberRole::Member).await?;
    audit::record(
        &mut tx,
        &event(actor, "organisation.ownership_transfer", me.organisation_id, to, meta)
            .details(json!({ "to": who.email, "from_user_id": my_id, "organisation": me.organisation })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An owner renames the organisation.
pub async fn rename(db: &Db, me: &Membership, actor: Actor, name: &str, meta: &RequestMeta) -> Result<(), AppError> {
    let name = parse_name(name).map_err(|m| AppError::invalid("name", m))?;
    if name == me.organisation {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    db::organisations::rename(&mut tx, me.organisation_id, &name).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "organisation.rename", Outcome::Success)
            .target("organisation", me.organisation_id)
            .organisation(me.organisation_id)
            .meta(meta)
            .details(json!({ "from": me.organisation, "to": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An invitation accepted (its link set the password): the member joins,
/// in the caller's transaction. Returns the organisation, if one waited.
pub async fn accept_in(tx: &mut Tx, user: i64, now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    db::organisations::join(tx, user, now).await
}
