//! Sign-up, login, logout and "who am I".

use crate::error::AppError;
use crate::views::SessionUser;
use leptos::prelude::*;

#[server(prefix = "/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    crate::backend::web::respond(crate::backend::services::auth::current_user().await)
}

/// `next` when it is a path on this site (`/catalogue/x`), never another
/// origin (`//evil.example`, `https://…`, `/\\evil`): no open redirect.
pub fn safe_return_path(next: Option<&str>) -> Option<&str> {
    let p = next?.trim();
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && p.len() <= 512
        && !p.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    ok.then_some(p)
}

/// Logs in and sends the user back to `next` (a path on this site, e.g. the
/// product they wanted to buy) or else to their role's home page.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<SessionUser, AppError> {
    use crate::backend::services::auth::LoginOutcome;
    let result = crate::backend::services::auth::login(&email, &password).await.map(|outcome| match outcome {
        LoginOutcome::Done(user) => {
            leptos_axum::redirect(&landing(&user, next.as_deref()));
            user
        }
        LoginOutcome::SecondFactor(user) => {
            let next = safe_return_path(next.as_deref()).map(|n| format!("?next={}", crate::views::urlencode(n))).unwrap_or_default();
            leptos_axum::redirect(&format!("/login/code{next}"));
            user
        }
    });
    crate::backend::web::respond(result)
}

/// Where a finished log-in goes: set up the second factor first if the
/// role needs one, else `next` or the role's home.
#[cfg(feature = "ssr")]
fn landing(user: &SessionUser, next: Option<&str>) -> String {
    let must = crate::backend::web::request::state().map(|st| st.two_factor.requires(user.role)).unwrap_or(false);
    if must && !user.two_factor {
        "/settings?two_factor=required".into()
    } else {
        safe_return_path(next).unwrap_or(user.role.home_path()).to_owned()
    }
}

/// The second step of a log-in with two-factor sign-in: a code from the
/// authenticator app, or a recovery code.
#[server(prefix = "/fn", endpoint = "login_code")]
pub async fn login_code(code: String, next: Option<String>) -> Result<SessionUser, AppError> {
    let result = crate::backend::services::auth::second_factor(&code).await;
    if let Ok(user) = &result {
        leptos_axum::redirect(&landing(user, next.as_deref()));
    }
    crate::backend::web::respond(result)
}

/// Creates a customer account whose address is confirmed by a mailed link
/// (or tells the owner of a taken address); the same answer either way.
/// `next` is accepted for the form's sake: the visitor logs in afterwards.
/// Answers with a redirect to `/signup/sent` ("check your mailbox").
#[server(prefix = "/fn", endpoint = "signup")]
pub async fn signup(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let _ = next;
    let result = crate::backend::services::auth::signup(&email, &password).await;
    if result.is_ok() {
        leptos_axum::redirect("/signup/sent");
    }
    crate::backend::web::respond(result)
}

#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let result = crate::backend::services::auth::logout().await;
    if result.is_ok() {
        leptos_axum::redirect("/");
    }
    crate::backend::web::respond(result)
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn only_paths_on_this_site_are_followed() {
        assert_eq!(safe_return_path(Some("/catalogue/acme-widget")), Some("/catalogue/acme-widget"));
        for bad in ["//evil.example/x", "https://evil.example", "/\\evil.example", "catalogue", "/a b", "/x\ny", ""] {
            assert_eq!(safe_return_path(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_return_path(None), None);
    }
}
