//! The HTML shell and the route table. Every page lives under `ui/pages/`.

use crate::server_fns::auth::{current_user, Login, Logout, Signup};
use crate::ui::auth_context::Auth;
use crate::ui::components::layout::Layout;
use crate::ui::pages::public::mailbox::DemoMailboxPage;
use crate::ui::pages::public::recovery::{ConfirmEmailPage, ForgotPasswordPage, ResetPasswordPage, SignupSentPage, UnsubscribePage};
use crate::ui::pages::public::auth::{LoginCodePage, LoginPage, SignupPage};
use crate::ui::pages::public::catalogue::{CatalogueProductPage, CataloguePage};
use crate::ui::components::errors::NotFound;
use crate::ui::components::escape::page_title;
use crate::ui::pages::public::home::HomePage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, Lazy, SsrMode,
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
    // `<body data-hydrated>` (what the browser tests wait on) is set by the
    // wasm entry (frontend) once the whole page, lazy routes too, is hydrated.

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
                    <Route path=path!("/settings") view={Lazy::<lazy::SettingsPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/unsubscribe") view=UnsubscribePage/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/demo/mailbox") view=DemoMailboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view={Lazy::<lazy::AccountPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/credentials") view={Lazy::<lazy::CredentialsPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/orders") view={Lazy::<lazy::OrdersPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/pulls") view={Lazy::<lazy::PullsPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/organisation") view={Lazy::<lazy::OrganisationPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/checkout/success") view={Lazy::<lazy::CheckoutSuccessPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<lazy::AdminDashboard>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view={Lazy::<lazy::AdminUsersPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products") view={Lazy::<lazy::AdminProductsPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/:id") view={Lazy::<lazy::AdminProductPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/customers") view={Lazy::<lazy::AdminCustomersPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/customers/:id") view={Lazy::<lazy::AdminCustomerPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/api-keys") view={Lazy::<lazy::AdminApiKeysPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/push-credentials") view={Lazy::<lazy::AdminPushCredentialsPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/mail") view={Lazy::<lazy::AdminMailPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/catalogue") view=CataloguePage ssr=SsrMode::Async/>
                    <Route path=path!("/catalogue/:slug") view=CatalogueProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view={Lazy::<lazy::AuditPage>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/audit/events/:id") view={Lazy::<lazy::AuditEventPage>::new()} ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// The pages whose code the browser loads only when it first shows one
/// (`#[lazy_route]`): signed-in customers', admins' and auditors' pages. The
/// wasm the first load carries holds the shell, the public pages and what
/// they share; `scripts/build.sh` splits each of these into its own chunks
/// (as `cargo leptos build --split` does), `HydrationScripts` preloads the
/// chunks a server-rendered page used, and `hydrate_lazy` (frontend) waits
/// for them before hydrating. Each type is named after the page it shows.
/// A new page that only signed-in people see: add it to `lazy_pages!` and
/// route it with `view={Lazy::<lazy::ItsPage>::new()}`; bench/payload.sh
/// prints what each lazy route's first load costs.
mod lazy {
    /// The page components, apart from the route types named after them.
    mod pages {
        pub use crate::ui::pages::account::checkout::CheckoutSuccessPage;
        pub use crate::ui::pages::account::credentials::CredentialsPage;
        pub use crate::ui::pages::account::orders::OrdersPage;
        pub use crate::ui::pages::account::organisation::OrganisationPage;
        pub use crate::ui::pages::account::products::AccountPage;
        pub use crate::ui::pages::account::pulls::PullsPage;
        pub use crate::ui::pages::admin::api_keys::AdminApiKeysPage;
        pub use crate::ui::pages::admin::customers::detail::AdminCustomerPage;
        pub use crate::ui::pages::admin::customers::list::AdminCustomersPage;
        pub use crate::ui::pages::admin::dashboard::{AdminDashboard, AdminUsersPage};
        pub use crate::ui::pages::admin::mail::AdminMailPage;
        pub use crate::ui::pages::admin::products::edit::AdminProductPage;
        pub use crate::ui::pages::admin::products::list::AdminProductsPage;
        pub use crate::ui::pages::admin::push_credentials::AdminPushCredentialsPage;
        pub use crate::ui::pages::audit::detail::AuditEventPage;
        pub use crate::ui::pages::audit::list::AuditPage;
        pub use crate::ui::pages::settings::SettingsPage;
    }

    use leptos::prelude::*;
    use leptos_router::{lazy_route, LazyRoute};

    macro_rules! lazy_pages {
        ($($page:ident),* $(,)?) => {$(
            pub struct $page;

            #[lazy_route]
            impl LazyRoute for $page {
                fn data() -> Self {
                    $page
                }

                fn view(_this: Self) -> AnyView {
                    pages::$page().into_any()
                }
            }
        )*};
    }

    lazy_pages!(
        SettingsPage, AccountPage, CredentialsPage, OrdersPage, PullsPage, OrganisationPage,
        CheckoutSuccessPage, AdminDashboard, AdminUsersPage, AdminProductsPage, AdminProductPage,
        AdminCustomersPage, AdminCustomerPage, AdminApiKeysPage, AdminPushCredentialsPage,
        AdminMailPage, AuditPage, AuditEventPage,
    );
}
