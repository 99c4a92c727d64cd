//! Small pieces the catalogue, admin and account pages share: a field's
//! error line, coloured badges, the error line for a failed load, and string
//! helpers that never format times themselves (the server already did).

use crate::ui::auth_context::Auth;
use crate::domain::organisation::Capability;
use crate::domain::{access::EntitlementStatus, catalogue::ProductStatus, Role};
use crate::error::AppError;
use crate::views::EntitlementView;
use leptos::prelude::*;

pub const LABEL: &str = "block text-sm font-medium text-slate-700";
pub const CARD: &str = "rounded-lg border border-slate-200 bg-white p-5 shadow-sm";
pub const TABLE_WRAP: &str = "overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm";
pub const THEAD: &str = "bg-slate-100 text-xs uppercase text-slate-600";
pub const LINK: &str = "text-indigo-700 underline hover:text-indigo-500";

pub use crate::ui::components::form::FieldError;

/// Succeeds when the signed-in user has one of `roles`. A page awaits this
/// in its resource before calling its server function, so visitors who may
/// not see the page cause no refused (and audited) call. Pages create their
/// resources *outside* `RequireRole`: its content can be rendered more than
/// once on the server, and a resource created there each time would not line
/// up with the browser's during hydration.
pub async fn gate(auth: Auth, roles: &'static [Role]) -> Result<(), AppError> {
    match auth.user.await? {
        Some(user) if roles.contains(&user.role) => Ok(()),
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::Unauthenticated),
    }
}

/// `gate` for the pages of a customer's organisation: succeeds when the
/// signed-in customer is a member whose role may do `c`, so a customer
/// without an organisation (or a role without the right) causes no refused
/// call. Such pages draw their body inside `RequireMember`, which says what
/// to do instead.
pub async fn member_gate(auth: Auth, c: Capability) -> Result<(), AppError> {
    match auth.user.await? {
        Some(user) if user.role == Role::Customer && user.may(c) => Ok(()),
        Some(user) if user.role == Role::Customer && user.membership.is_none() => {
            Err(AppError::conflict("organisation", "you are not a member of an organisation: ask an owner to invite you"))
        }
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::Unauthenticated),
    }
}

/// A failed load, said in words.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    view! { <p role="alert" class="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{error.to_string()}</p> }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Neutral,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "bg-emerald-100 text-emerald-800 ring-emerald-200",
            Tone::Warn => "bg-amber-100 text-amber-900 ring-amber-200",
            Tone::Bad => "bg-red-100 text-red-800 ring-red-200",
            Tone::Neutral => "bg-slate-100 text-slate-700 ring-slate-200",
        }
    }
}

/// A coloured pill around `text`.
#[component]
pub fn Badge(#[prop(into)] text: String, tone: Tone, #[prop(optional)] testid: &'static str) -> impl IntoView {
    view! {
        <span
            data-testid=(!testid.is_empty()).then_some(testid)
            class=format!("inline-block rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset {}", tone.class())
        >
            {text}
        </span>
    }
}

pub fn product_tone(status: ProductStatus) -> Tone {
    match status {
        ProductStatus::Published => Tone::Good,
        ProductStatus::Draft => Tone::Neutral,
        ProductStatus::Archived => Tone::Warn,
    }
}

/// Green when it grants access now; amber when it may again (suspended, not
/// started yet); red when it is over.
pub fn entitlement_tone(e: &EntitlementView) -> Tone {
    match (e.grants_access, e.status) {
        (true, _) => Tone::Good,
        (false, EntitlementStatus::Active | EntitlementStatus::Suspended) => Tone::Warn,
        (false, EntitlementStatus::Revoked | EntitlementStatus::Expired) => Tone::Bad,
    }
}

/// "manual" → "granted by hand" and so on, for people.
pub fn source_words(source: crate::domain::access::EntitlementSource) -> &'static str {
    use crate::domain::access::EntitlementSource::*;
    match source {
        Manual => "granted by the vendor",
        Subscription => "subscription",
        OneTime => "one-time purchase",
        Trial => "trial",
    }
}

/// "1 customer", "2 customers", "0 customers".
pub fn plural(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The day of an RFC 3339 time as the server wrote it ("2027-03-12").
pub fn day(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_string()
}

/// An entitlement's window as days: "2026-05-01 → 2027-03-12" or "… → open-ended".
pub fn window_days(e: &EntitlementView) -> String {
    let end = e.ends_at.as_deref().map(day).unwrap_or_else(|| "open-ended".into());
    format!("{} → {end}", day(&e.starts_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::urlencode;

    #[test]
    fn days_and_encoding() {
        assert_eq!(day("2027-03-12T00:00:00+00:00"), "2027-03-12");
        assert_eq!(day("short"), "short");
        assert_eq!(urlencode("a b&c"), "a%20b%26c");
        assert_eq!(plural(1, "customer", "customers"), "1 customer");
        assert_eq!(plural(2, "customer", "customers"), "2 customers");
        assert_eq!(plural(0, "customer", "customers"), "0 customers");
    }
}
