//! Shows its children only to the given roles. This is presentation only:
//! the server functions behind every page check the role themselves.
//!
//! Its children may be built more than once during server rendering (each
//! time the user resource settles), so a page must create its resources
//! *outside* `RequireRole` and pass them in; each such resource awaits
//! `widgets::gate` first. A resource created inside would get a new id per
//! build and no longer line up with the browser's during hydration.

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
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            // Awaiting (not reading) the resource waits for a refetch in
            // flight, so right after login the gate sees the new user, not
            // the stale "nobody" it had before.
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) if roles.contains(&user.role) => children.read_value()().into_any(),
                    Ok(Some(_)) => view! { <Forbidden/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(AppError::Internal { request_id, .. }) => view! { <ServerError request_id/> }.into_any(),
                    Err(e) => view! { <ServerError request_id=e.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
