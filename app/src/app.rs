//! The HTML shell and the route table. Every page lives under `ui/pages/`.

use crate::server_fns::auth::{current_user, Login, Logout, Signup};
use crate::ui::auth_context::Auth;
use crate::ui::components::layout::Layout;
use crate::ui::pages::account::products::AccountPage;
use crate::ui::pages::admin::dashboard::{AdminDashboard, AdminUsersPage};
use crate::ui::pages::admin::api_keys::AdminApiKeysPage;
use crate::ui::pages::admin::mail::AdminMailPage;
use crate::ui::pages::public::mailbox::DemoMailboxPage;
use crate::ui::pages::public::recovery::{ConfirmEmailPage, ForgotPasswordPage, ResetPasswordPage, SignupSentPage, UnsubscribePage};
use crate::ui::pages::settings::SettingsPage;
use crate::ui::pages::admin::customers::detail::AdminCustomerPage;
use crate::ui::pages::admin::customers::list::AdminCustomersPage;
use crate::ui::pages::admin::products::edit::AdminProductPage;
use crate::ui::pages::admin::products::list::AdminProductsPage;
use crate::ui::pages::admin::push_credentials::AdminPushCredentialsPage;
use crate::ui::pages::audit::list::AuditPage;
use crate::ui::pages::public::auth::{LoginCodePage, LoginPage, SignupPage};
use crate::ui::pages::account::checkout::CheckoutSuccessPage;
use crate::ui::pages::account::orders::OrdersPage;
use crate::ui::pages::account::organisation::OrganisationPage;
use crate::ui::pages::account::pulls::PullsPage;
use crate::ui::pages::public::catalogue::{CatalogueProductPage, CataloguePage};
use crate::ui::pages::account::credentials::CredentialsPage;
use crate::ui::components::errors::NotFound;
use crate::ui::components::escape::page_title;
use crate::ui::pages::public::home::HomePage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app. A fresh nonce per response lets exactly the
/// scripts Leptos writes run under a strict Content-Security-Policy.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::backend::web::csp::provide_nonce_and_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let login = ServerAction::<Login>::new();
    let signup = ServerAction::<Signup>::new();
    let logout = ServerAction::<Logout>::new();
    // Re-read the user whenever one of the actions completes.
    let user = Resource::new(
        move || (login.version().get(), signup.version().get(), logout.version().get()),
        |_| current_user(),
    );
    provide_context(Auth { user, login, signup, logout });
    // Effects run only in the browser: this marks the page as hydrated, for
    // people debugging and for the browser tests to wait on.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/portcullis.css"/>
        // Every page's title passes through this one formatter, which
        // escapes it on the server (leptos_meta writes it raw there).
        <Title formatter=page_title/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/signup") view=SignupPage/>
                    <Route path=path!("/login/code") view=LoginCodePage/>
                    <Route path=path!("/signup/sent") view=SignupSentPage/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage/>
                    <Route path=path!("/confirm-email") view=ConfirmEmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/unsubscribe") view=UnsubscribePage/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/demo/mailbox") view=DemoMailboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/credentials") view=CredentialsPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/orders") view=OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/pulls") view=PullsPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/organisation") view=OrganisationPage ssr=SsrMode::Async/>
                    <Route path=path!("/checkout/success") view=CheckoutSuccessPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminDashboard ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products") view=AdminProductsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/:id") view=AdminProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/customers") view=AdminCustomersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/customers/:id") view=AdminCustomerPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/api-keys") view=AdminApiKeysPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/push-credentials") view=AdminPushCredentialsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/mail") view=AdminMailPage ssr=SsrMode::Async/>
                    <Route path=path!("/catalogue") view=CataloguePage ssr=SsrMode::Async/>
                    <Route path=path!("/catalogue/:slug") view=CatalogueProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit/events/:id") view=crate::ui::pages::audit::detail::AuditEventPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
