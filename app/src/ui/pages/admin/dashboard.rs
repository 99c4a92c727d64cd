//! Vendor-admin pages: the dashboard and accounts (create; disable, enable,
//! change the role, mail a reset link, end the sessions).

use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::server_fns::users::{list_users, ChangeUser, CreateUser, EndUserSession, UserSessions, UserSummary};
use crate::ui::components::utc_time::utc_text;
use crate::ui::components::confirm::{Confirm, CONFIRM_DANGER, SECONDARY};
use crate::ui::components::data_table::{DataTable, TD, TD2};
use crate::ui::components::widgets::{Badge, Tone};
use crate::ui::auth_context::use_auth;
use crate::views::urlencode;
use crate::ui::components::widgets::gate;
use crate::ui::components::form::{Field, FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::domain::Role;
use crate::server_fns::requests::{admin_requests, dashboard_figures, AnswerRequest};
use crate::domain::request::RequestKind;
use crate::ui::components::widgets::{plural, FieldError, LoadError, CARD, LINK};
use crate::views::{money_words, AccessRequestView, CustomerSegment, DashboardNumbers};
use crate::ui::components::escape::TextArea;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminDashboard() -> impl IntoView {
    let auth = use_auth();
    // Outside RequireRole: see `widgets::gate`.
    let charts = crate::ui::pages::audit::charts::charts_resource();
    let billing = crate::ui::pages::admin::billing::status_resource();
    let provisioning = crate::ui::pages::admin::provisioning::status_resource();
    let answer = ServerAction::<AnswerRequest>::new();
    let figures = Resource::new(move || answer.version().get(), move |_| async move {
        gate(auth, &[Role::Admin]).await?;
        dashboard_figures().await
    });
    let requests = Resource::new(move || answer.version().get(), move |_| async move {
        gate(auth, &[Role::Admin]).await?;
        admin_requests(Some("open".into())).await
    });
    view! {
        <Title text="Admin"/>
        <RequireRole roles=&[Role::Admin]>
            <h1 class="text-2xl font-semibold">"Vendor admin"</h1>
            <Transition fallback=|| view! { <p class="mt-4 text-slate-600">"Loading the numbers…"</p> }>
                {move || figures.get().map(|r| match r {
                    Ok(n) => view! { <Figures n/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
            <section id="requests" class="mt-8" aria-labelledby="requests-heading">
                <h2 id="requests-heading" class="text-lg font-semibold">"Requests for trials and sales"</h2>
                <Transition fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                    {move || requests.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! {
                            <p class="mt-2 text-sm text-slate-600" data-testid="requests-empty">"No request waits for an answer."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-3 space-y-3" data-testid="requests">
                                {list.into_iter().map(|r| view! { <RequestItem request=r answer/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    })}
                </Transition>
            </section>
            <crate::ui::pages::admin::billing::BillingCard status=billing/>
            <crate::ui::pages::admin::provisioning::ProvisioningCard status=provisioning/>
            <crate::ui::pages::audit::charts::AuditCharts charts/>
        </RequireRole>
    }
}

/// One number: what it counts, the figure, a line of context; the whole
/// card links to the list behind it.
#[component]
fn Figure(
    label: &'static str,
    #[prop(into)] value: String,
    #[prop(into)] note: String,
    href: String,
    #[prop(optional)] warn: bool,
    testid: &'static str,
) -> impl IntoView {
    let class = if warn {
        "block rounded-lg border border-amber-300 bg-amber-50 p-4 shadow-sm hover:border-amber-400 focus:outline-none focus:ring-2 focus:ring-indigo-300"
    } else {
        "block rounded-lg border border-slate-200 bg-white p-4 shadow-sm hover:border-indigo-300 focus:outline-none focus:ring-2 focus:ring-indigo-300"
    };
    view! {
        <a href=href class=class data-testid=testid>
            <span class="block text-sm text-slate-700">{label}</span>
            <span class="mt-1 block text-2xl font-semibold text-slate-900" data-testid="figure-value">{value}</span>
            <span class="mt-1 block text-xs text-slate-600">{note}</span>
        </a>
    }
}

#[component]
fn Figures(n: DashboardNumbers) -> impl IntoView {
    let customers = |seg: CustomerSegment| format!("/admin/customers?segment={}", seg.as_str());
    let provisioning = n.provisioning_failing.map(|f| {
        view! {
            <Figure label="Harbor provisioning" value=plural(f, "customer failing", "customers failing")
                note="robots not converged; see the provisioning card" href="#provisioning".to_owned() warn={f > 0} testid="figure-provisioning"/>
        }
    });
    view! {
        <div class="mt-4 grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4" data-testid="figures">
            <Figure label="Active customers" value=n.active_customers.to_string()
                note="with access now" href=customers(CustomerSegment::Active) testid="figure-active"/>
            <Figure label="Monthly recurring revenue" value=money_words(&n.mrr)
                note="live subscriptions; yearly as a twelfth" href=customers(CustomerSegment::Subscribers) testid="figure-mrr"/>
            <Figure label="Billed, last 30 days" value=money_words(&n.billed_30d)
                note="periods started and purchases paid" href=customers(CustomerSegment::Billed) testid="figure-billed"/>
            <Figure label="Renewals failing" value=n.renewals_failing.to_string()
                note="past due or unpaid" href=customers(CustomerSegment::Failing) warn={n.renewals_failing > 0} testid="figure-failing"/>
            <Figure label="Ending within 30 days" value=n.ending_30d.to_string()
                note=plural(n.ending_30d, "entitlement that does not renew", "entitlements that do not renew")
                href=customers(CustomerSegment::Ending) warn={n.ending_30d > 0} testid="figure-ending"/>
            <Figure label="Open requests" value=n.open_requests.to_string()
                note="trials and sales to answer" href="#requests".to_owned() warn={n.open_requests > 0} testid="figure-requests"/>
            <Figure label="Stripe webhooks, 24 h" value=plural(n.webhooks_24h, "event", "events")
                note=format!("{} refused", n.webhooks_refused_24h)
                href="/audit?action=billing.webhook".to_owned() warn={n.webhooks_refused_24h > 0} testid="figure-webhooks"/>
            {provisioning}
        </div>
    }
}

/// An open request with its two answers: a grant for some days, or a reply.
#[component]
fn RequestItem(request: AccessRequestView, answer: ServerAction<AnswerRequest>) -> impl IntoView {
    let id = request.id;
    let default_days = if request.kind == RequestKind::Trial { "14" } else { "30" };
    let error = Signal::derive(move || answer.value().get().and_then(|r| r.err()).filter(|_| answer.input().get().is_none_or(|i| i.id == id)));
    let days_id = format!("days-{id}");
    let reply_id = format!("reply-{id}");
    view! {
        <li class=CARD data-testid="request">
            <p class="text-sm">
                <span class="font-semibold">{request.organisation.clone()}</span>
                " ("{request.requested_by.clone()}") asks for "{request.kind.words()}" of "
                <a class=LINK href=format!("/catalogue/{}", request.product_slug)>{request.product.clone()}</a>
                " · "<UtcTime at=request.created_at.clone()/>
            </p>
            {(!request.message.is_empty()).then(|| view! {
                <blockquote class="mt-2 whitespace-pre-line border-l-4 border-slate-200 pl-3 text-sm text-slate-800" data-testid="request-message">
                    {request.message.clone()}
                </blockquote>
            })}
            <p class="mt-1 text-sm"><a class=LINK href=format!("/admin/customers/{}", request.organisation_id)>"The customer's page"</a></p>
            <ActionForm action=answer attr:class="mt-3 grid gap-2 sm:grid-cols-[8rem_1fr]">
                <input type="hidden" name="id" value=id.to_string()/>
                <FormError error fields=&["days", "reply"]/>
                <div>
                    <label class="block text-sm font-medium text-slate-700" for=days_id.clone()>"Days of access"</label>
                    <input id=days_id name="days" type="number" min="1" max="3660" value=default_days class=INPUT_CLASS/>
                    <FieldError name="days" error/>
                </div>
                <div>
                    <label class="block text-sm font-medium text-slate-700" for=reply_id.clone()>"Words to the customer (sent by mail)"</label>
                    <TextArea text="" attr:id=reply_id attr:name="reply" attr:rows="2" attr:maxlength="4000" attr:class=INPUT_CLASS/>
                    <FieldError name="reply" error/>
                </div>
                <div class="flex flex-wrap gap-2 sm:col-span-2">
                    <button type="submit" name="action" value="grant" class=BUTTON data-testid="grant-request">
                        {format!("Grant {} to {}", if request.kind == RequestKind::Trial { "a trial" } else { "access" }, request.organisation)}
                    </button>
                    <button type="submit" name="action" value="reply" class=SECONDARY data-testid="reply-request">"Reply without access"</button>
                </div>
            </ActionForm>
        </li>
    }
}

type Users = Resource<Result<crate::server_fns::users::UserPage, crate::error::AppError>>;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let create = ServerAction::<CreateUser>::new();
    let change = ServerAction::<ChangeUser>::new();
    let search = move || query.read().get("q").filter(|s| !s.is_empty());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(1);
    // Outside RequireRole: see `widgets::gate`.
    let users: Users = Resource::new(
        move || (search(), page(), create.version().get(), change.version().get()),
        move |(q, p, _, _)| async move {
            gate(auth, &[Role::Admin]).await?;
            list_users(q, Some(p)).await
        },
    );
    view! {
        <Title text="Users"/>
        <RequireRole roles=&[Role::Admin]>
            <UsersBody users create change/>
        </RequireRole>
    }
}

#[component]
fn UsersBody(users: Users, create: ServerAction<CreateUser>, change: ServerAction<ChangeUser>) -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").filter(|s| !s.is_empty());
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created = move || create.value().get().and_then(|r| r.ok());
    let change_error = Signal::derive(move || change.value().get().and_then(|r| r.err()));

    view! {
        <h1 class="text-2xl font-semibold">"Users"</h1>
        <div class="mt-6 grid gap-6 lg:grid-cols-3">
            <section class="lg:col-span-2">
                <form method="get" action="/admin/users" class="mb-3 flex gap-2">
                    <input class=INPUT_CLASS type="search" name="q" placeholder="Search by e-mail" maxlength="100"
                        prop:value=move || search().unwrap_or_default()/>
                    <button type="submit" class=BUTTON>"Search"</button>
                </form>
                <FormError error=change_error fields=&[]/>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || users.get().map(|r| match r {
                        Ok(p) => {
                            let last_page = (p.total.max(1) as u32).div_ceil(p.per_page);
                            let q = search().unwrap_or_default();
                            let link = move |n: u32| format!("/admin/users?q={}&page={n}", urlencode(&q));
                            view! {
                                <DataTable columns=&["E-mail", "Role", "Created", "Last login", "Manage"] secondary=&["Created", "Last login"]
                                    testid="users-table" label="Accounts">
                                    {p.users.into_iter().map(|u| view! { <UserRow user=u change/> }).collect_view()}
                                </DataTable>
                                <p class="mt-2 flex gap-4 text-sm text-slate-600">
                                    <span>{format!("Page {} · {} accounts in all", p.page, p.total)}</span>
                                    {(p.page > 1).then(|| view! { <a class="text-indigo-700 underline" href=link(p.page - 1)>"Previous"</a> })}
                                    {(p.page < last_page).then(|| view! { <a class="text-indigo-700 underline" href=link(p.page + 1)>"Next"</a> })}
                                </p>
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    })}
                </Transition>
            </section>
            <section class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
                <h2 class="mb-3 font-semibold">"Create an account"</h2>
                <ActionForm action=create attr:class="space-y-3">
                    <FormError error=create_error fields=&["email", "password", "role"]/>
                    <Field name="email" label="E-mail" kind="email" autocomplete="off" error=create_error/>
                    <Field name="password" label="Initial password" kind="password" autocomplete="new-password" error=create_error/>
                    <label class="block text-sm font-medium text-slate-700">
                        "Role"
                        <select name="role" class=INPUT_CLASS>
                            <option value="customer">"Customer"</option>
                            <option value="admin">"Admin"</option>
                            <option value="auditor">"Auditor"</option>
                        </select>
                    </label>
                    <button type="submit" class=BUTTON>"Create account"</button>
                    {move || created().map(|id| view! { <p class="text-sm text-emerald-700" data-testid="created">{format!("Account {id} created.")}</p> })}
                </ActionForm>
            </section>
        </div>
    }
}


/// One account: its state, and what an admin may do to it (each a plain
/// form, so it works before the wasm loads). Disabling and ending every
/// session ask first; every button names the account it acts on.
#[component]
fn UserRow(user: UserSummary, change: ServerAction<ChangeUser>) -> impl IntoView {
    let id = user.id.to_string();
    let email = user.email.clone();
    let form = {
        let (id, email) = (id.clone(), email.clone());
        move |action: &'static str, label: &'static str, testid: &'static str, class: &'static str| {
            let (id, email) = (id.clone(), email.clone());
            view! {
                <ActionForm action=change attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="action" value=action/>
                    <button type="submit" class=class data-testid=testid aria-label=format!("{label}: {email}")>{label}</button>
                </ActionForm>
            }
        }
    };
    let act = form.clone();
    let who = email.clone();
    let confirm = move |action: &'static str, label: &'static str, question: String, testid: &'static str| {
        let act = act.clone();
        let name = format!("{label}: {who}");
        view! {
            <Confirm label question danger=true testid=format!("{testid}-ask") name>
                {act(action, label, testid, CONFIRM_DANGER)}
            </Confirm>
        }
    };
    let role_id = user.id.to_string();
    let disable_q = format!("Disable {email}? They are logged out at once and cannot log in until enabled again.");
    let end_q = format!("End every session of {email}? They must log in again everywhere.");
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="user-row">
            <td class=format!("{TD} break-all") data-label="E-mail">
                {user.email.clone()}
                {user.disabled.then(|| view! { " "<Badge text="disabled" tone=Tone::Bad testid="user-disabled"/> })}
                {(!user.email_verified).then(|| view! { " "<Badge text="unconfirmed" tone=Tone::Warn/> })}
            </td>
            <td class=TD data-label="Role">{user.role.as_str()}</td>
            <td class=TD2 data-label="Created"><UtcTime at=user.created_at.clone()/></td>
            <td class=TD2 data-label="Last login"><MaybeUtcTime at=user.last_login_at.clone()/></td>
            <td class=TD data-label="Manage">
                <details data-testid="manage-user">
                    <summary class="cursor-pointer text-sm text-indigo-700" aria-label=format!("Manage {}", user.email)>"Manage"</summary>
                    <div class="mt-2 flex min-w-[14rem] flex-col gap-2">
                        {if user.disabled {
                            form("enable", "Enable", "enable-user", SECONDARY).into_any()
                        } else {
                            confirm("disable", "Disable", disable_q, "disable-user").into_any()
                        }}
                        {form("send_reset", "Mail a reset link", "send-reset", SECONDARY)}
                        {confirm("end_sessions", "End all sessions", end_q, "end-sessions")}
                        {user.two_factor.then(|| confirm(
                            "reset_2fa",
                            "Turn off two-factor sign-in",
                            format!("Turn off two-factor sign-in for {}? They log in with the password alone until they set it up again.", user.email),
                            "reset-2fa",
                        ))}
                        <SessionsOf id=user.id/>
                        <ActionForm action=change attr:class="flex gap-2">
                            <input type="hidden" name="id" value=role_id/>
                            <input type="hidden" name="action" value="role"/>
                            <select name="role" class=INPUT_CLASS aria-label=format!("Role of {}", user.email)>
                                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == user.role>{r.as_str()}</option> }).collect_view()}
                            </select>
                            <button type="submit" class=SECONDARY data-testid="change-role" aria-label=format!("Set role of {}", user.email)>"Set role"</button>
                        </ActionForm>
                    </div>
                </details>
            </td>
        </tr>
    }
}

/// An account's sessions, loaded when asked for, each with "End".
#[component]
fn SessionsOf(id: i64) -> impl IntoView {
    let load = ServerAction::<UserSessions>::new();
    let end = ServerAction::<EndUserSession>::new();
    // After ending one, load the list again.
    Effect::new(move |_| {
        if end.version().get() > 0 {
            load.dispatch(UserSessions { id });
        }
    });
    view! {
        <button type="button" class=SECONDARY data-testid="show-sessions" on:click=move |_| { load.dispatch(UserSessions { id }); }>"Show sessions"</button>
        {move || load.value().get().map(|r| match r {
            Ok(list) if list.is_empty() => view! { <p class="text-xs text-slate-600" data-testid="no-sessions">"No sessions."</p> }.into_any(),
            Ok(list) => view! {
                <ul class="space-y-1 text-xs" data-testid="user-sessions">
                    {list.into_iter().map(|s| view! {
                        <li class="flex flex-wrap items-center gap-2">
                            <span class="break-all">{s.user_agent.unwrap_or_else(|| "unknown browser".into())}</span>
                            <span class="text-slate-500">{s.ip.unwrap_or_default()}</span>
                            <span class="text-slate-500">{format!("seen {}", utc_text(&s.last_seen_at))}</span>
                            <ActionForm action=end attr:class="inline">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="session_id" value=s.id/>
                                <button type="submit" class=SECONDARY data-testid="end-user-session">"End"</button>
                            </ActionForm>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any(),
            Err(e) => view! { <p class="text-xs text-red-700">{e.to_string()}</p> }.into_any(),
        })}
    }
}
