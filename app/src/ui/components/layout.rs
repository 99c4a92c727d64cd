//! The page frame: a header whose navigation shows each role its own
//! sections, a menu that folds away on small screens, and the content.

use crate::ui::auth_context::use_auth;
use crate::views::SessionUser;
use crate::domain::organisation::Capability;
use crate::domain::Role;
use leptos::prelude::*;
use leptos_router::components::A;

/// The navigation entries a role sees, in order. A customer sees the
/// organisation's pages once a member, and Orders only in a role that may
/// buy (`Capability::Billing`).
pub fn nav_links(user: Option<&SessionUser>) -> Vec<(&'static str, &'static str)> {
    let Some(user) = user else {
        return vec![("/", "Home"), ("/catalogue", "Catalogue"), ("/login", "Log in"), ("/signup", "Sign up")];
    };
    match user.role {
        Role::Customer => {
            let member = user.membership.is_some();
            [
                Some(("/", "Home")),
                Some(("/catalogue", "Catalogue")),
                Some(("/account", "My account")),
                member.then_some(("/account/credentials", "Credentials")),
                member.then_some(("/account/pulls", "Pull history")),
                user.may(Capability::Billing).then_some(("/account/orders", "Orders")),
                member.then_some(("/account/organisation", "Organisation")),
                Some(("/settings", "Settings")),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
        Role::Admin => vec![
            ("/admin", "Admin"),
            ("/admin/products", "Products"),
            ("/admin/customers", "Customers"),
            ("/admin/users", "Users"),
            ("/admin/api-keys", "API keys"),
            ("/admin/push-credentials", "Push credentials"),
            ("/admin/mail", "Mail"),
            ("/audit", "Audit log"),
            ("/settings", "Settings"),
        ],
        Role::Auditor => vec![("/audit", "Audit log"), ("/admin/push-credentials", "Push credentials"), ("/settings", "Settings")],
    }
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let auth = use_auth();
    let (menu_open, set_menu_open) = signal(false);
    let user = move || auth.user.get().and_then(|r| r.ok()).flatten();

    view! {
        <a
            href="#main"
            on:click=|ev| {
                // Move focus itself: the router handles in-page links, and the
                // browser's own fragment jump would not focus <main>.
                use leptos::wasm_bindgen::JsCast;
                if let Some(main) = document().get_element_by_id("main").and_then(|m| m.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
                    ev.prevent_default();
                    main.scroll_into_view();
                    let _ = main.focus();
                }
            }
            class="sr-only rounded bg-white px-3 py-2 text-sm font-semibold text-indigo-800 shadow focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50"
        >
            "Skip to content"
        </a>
        <header class="bg-slate-900 text-white">
            <div class="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-3">
                <a href="/" class="text-lg font-semibold tracking-tight">"Portcullis"</a>
                <button
                    type="button"
                    data-testid="nav-toggle"
                    class="rounded border border-slate-600 px-3 py-1 text-sm md:hidden"
                    aria-controls="main-nav"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| set_menu_open.update(|o| *o = !*o)
                >
                    {move || if menu_open.get() { "Close menu" } else { "Menu" }}
                </button>
                <nav
                    id="main-nav"
                    data-testid="main-nav"
                    aria-label="Main"
                    class=move || {
                        format!(
                            "w-full flex-col gap-1 md:flex md:w-auto md:flex-row md:flex-wrap md:items-center md:justify-end md:gap-1 lg:gap-2 {}",
                            if menu_open.get() { "flex" } else { "hidden" },
                        )
                    }
                >
                    <Transition fallback=|| ()>
                        {move || {
                            let u = user();
                            let links = nav_links(u.as_ref())
                                .into_iter()
                                .map(|(href, label)| {
                                    view! {
                                        <A href=href exact=true attr:class="whitespace-nowrap rounded px-2 py-1 text-sm text-slate-200 hover:bg-slate-700 hover:text-white aria-[current=page]:bg-slate-700">
                                            {label}
                                        </A>
                                    }
                                })
                                .collect_view();
                            view! {
                                {links}
                                {u.map(|u| view! { <UserMenu user=u/> })}
                            }
                        }}
                    </Transition>
                </nav>
            </div>
        </header>
        <main id="main" tabindex="-1" class="mx-auto max-w-6xl px-4 py-8 focus:outline-none">{children()}</main>
        <footer class="mx-auto max-w-6xl px-4 pb-8 text-xs text-slate-500">
            "Portcullis · access to container images, enforced at every pull"
        </footer>
    }
}

#[component]
fn UserMenu(user: SessionUser) -> impl IntoView {
    let auth = use_auth();
    view! {
        <span class="flex min-w-0 max-w-full flex-wrap items-center gap-2 border-slate-700 pt-2 text-sm md:flex-nowrap md:border-l md:pl-4 md:pt-0">
            <span data-testid="signed-in-as" class="min-w-0 max-w-full break-all text-slate-300 md:max-w-64 md:truncate" title=user.email.clone()>{user.email.clone()}</span>
            <span class="rounded bg-slate-700 px-1.5 py-0.5 text-xs uppercase">{user.role.as_str()}</span>
            <ActionForm action=auth.logout>
                <button type="submit" class="whitespace-nowrap rounded px-2 py-1 text-slate-200 hover:bg-slate-700">"Log out"</button>
            </ActionForm>
        </span>
    }
}
