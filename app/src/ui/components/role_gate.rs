//! Shows its children only to the given roles. This is presentation only:
//! the server functions behind every page check the role themselves.
//!
//! Its children may be built more than once during server rendering (each
//! time the user resource settles), so a page must create its resources
//! *outside* `RequireRole` and pass them in; each such resource awaits
//! `widgets::gate` first. A resource created inside would get a new id per
//! build and no longer line up with the browser's during hydration.
//!
//! `RequireMember` is the gate of a customer's organisation pages: a
//! customer who belongs to none (removed, or an invitation not accepted)
//! is told what to do instead.

use crate::ui::auth_context::use_auth;
use crate::domain::Role;
use crate::error::AppError;
use crate::ui::components::errors::{Forbidden, ServerError};
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn RequireRole(roles: &'static [Role], children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    // A visitor who follows a deep link logs in and comes back to it (the
    // log-in accepts only a path on this site: `safe_return_path`).
    let location = leptos_router::hooks::use_location();
    let (path, search) = (location.pathname.get_untracked(), location.search.get_untracked());
    let here = match search.trim_start_matches('?') {
        "" => path,
        q => format!("{path}?{q}"),
    };
    let login = StoredValue::new(format!("/login?next={}", crate::views::urlencode(&here)));
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            // Awaiting (not reading) the resource waits for a refetch in
            // flight, so right after login the gate sees the new user, not
            // the stale "nobody" it had before.
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) if roles.contains(&user.role) => children.read_value()().into_any(),
                    Ok(Some(_)) => view! { <Forbidden/> }.into_any(),
                    Ok(None) => view! { <Redirect path=login.get_value()/> }.into_any(),
                    Err(AppError::Internal { request_id, .. }) => view! { <ServerError request_id/> }.into_any(),
                    Err(e) => view! { <ServerError request_id=e.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `RequireRole` for customers, then the children only for a member of an
/// organisation; a customer without one reads why and what to do. The
/// page's resources await `widgets::member_gate`.
#[component]
pub fn RequireMember(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    view! {
        <RequireRole roles=&[Role::Customer]>
            {move || {
                let member = auth.user.get().and_then(|r| r.ok()).flatten().is_some_and(|u| u.membership.is_some());
                if member { children.read_value()().into_any() } else { view! { <NotAMember/> }.into_any() }
            }}
        </RequireRole>
    }
}

/// What a customer without an organisation sees on its pages.
#[component]
fn NotAMember() -> impl IntoView {
    view! {
        <section role="status" data-testid="not-a-member" class="mx-auto max-w-xl rounded-lg border border-amber-200 bg-amber-50 p-6 text-amber-900">
            <h1 class="text-xl font-semibold">"No organisation"</h1>
            <p class="mt-2">"You are not a member of an organisation (any more). Ask an owner to invite you."</p>
        </section>
    }
}
