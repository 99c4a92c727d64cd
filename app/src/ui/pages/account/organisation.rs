//! The customer's organisation (`/account/organisation`): its name, its
//! members and pending invitations (address, role, joined or invited by
//! whom, last log-in, last pull), and for owners the forms that rename it,
//! invite a colleague, change a member's role, hand over ownership, remove
//! a member or withdraw an invitation (what takes something away asks
//! first). Every member may leave; the server refuses the last owner, and
//! the page says so next to the button.

use crate::domain::organisation::{Capability, MemberRole};
use crate::error::AppError;
use crate::server_fns::organisation::{
    my_organisation, InviteMember, LeaveOrganisation, RemoveMember, RenameOrganisation, SetMemberRole, TransferOwnership,
};
use crate::ui::auth_context::use_auth;
use crate::ui::components::confirm::{Confirm, CONFIRM, CONFIRM_DANGER};
use crate::ui::components::data_table::{DataTable, TD, TD2};
use crate::ui::components::feedback::{reset_on, Toast};
use crate::ui::components::form::{Field, FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireMember;
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::components::widgets::{member_gate, Badge, FieldError, LoadError, Tone, CARD, LABEL, LINK};
use crate::views::{MemberView, OrganisationView, SessionUser};
use leptos::prelude::*;
use leptos_meta::Title;

type Organisation = Resource<Result<OrganisationView, AppError>>;

/// The page's actions, made in the page component so that a re-render of
/// the body (the organisation loaded again) keeps their answers.
#[derive(Clone, Copy)]
struct Actions {
    rename: ServerAction<RenameOrganisation>,
    invite: ServerAction<InviteMember>,
    role: ServerAction<SetMemberRole>,
    remove: ServerAction<RemoveMember>,
    transfer: ServerAction<TransferOwnership>,
    leave: ServerAction<LeaveOrganisation>,
    /// The address of the last invitation sent, for its confirmation.
    invited: RwSignal<String>,
}

#[component]
pub fn OrganisationPage() -> impl IntoView {
    let auth = use_auth();
    let actions = Actions {
        rename: ServerAction::new(),
        invite: ServerAction::new(),
        role: ServerAction::new(),
        remove: ServerAction::new(),
        transfer: ServerAction::new(),
        leave: ServerAction::new(),
        invited: RwSignal::new(String::new()),
    };
    let Actions { rename, invite, role, remove, transfer, leave, invited } = actions;
    // Effects run in the browser only, where actions run. An action's input
    // is gone once it answered: keep the address while it is on its way.
    Effect::new(move |_| {
        if let Some(i) = invite.input().get() {
            invited.set(i.email);
        }
    });
    // Leaving, or handing ownership over, changes what the signed-in user
    // may do (no organisation, or a member's role): read it again.
    Effect::new(move |_| {
        if matches!(leave.value().get(), Some(Ok(()))) || matches!(transfer.value().get(), Some(Ok(()))) {
            auth.user.refetch();
        }
    });
    // Outside RequireMember: see `widgets::gate`. Not reloaded after leaving:
    // the page then says there is no organisation.
    let org: Organisation = Resource::new(
        move || (rename.version().get(), invite.version().get(), role.version().get(), remove.version().get(), transfer.version().get()),
        move |_| async move {
            member_gate(auth, Capability::Pull).await?;
            my_organisation().await
        },
    );
    view! {
        <Title text="Organisation"/>
        <RequireMember>
            <Body org actions/>
        </RequireMember>
    }
}

#[component]
fn Body(org: Organisation, actions: Actions) -> impl IntoView {
    let auth = use_auth();
    view! {
        <p class="text-sm"><a class=LINK href="/account">"← My account"</a></p>
        <Transition fallback=|| view! { <p class="mt-3 text-slate-500">"Loading…"</p> }>
            {move || {
                let me = auth.user.get().and_then(|r| r.ok()).flatten();
                org.get().map(|r| match (r, me) {
                    (Ok(org), Some(me)) => view! { <Loaded org me actions/> }.into_any(),
                    (Ok(_), None) => ().into_any(),
                    (Err(e), _) => view! { <div class="mt-3"><LoadError error=e/></div> }.into_any(),
                })
            }}
        </Transition>
    }
}

#[component]
fn Loaded(org: OrganisationView, me: SessionUser, actions: Actions) -> impl IntoView {
    let owner = me.may(Capability::ManageMembers);
    let my_role = me.membership.as_ref().map(|m| m.role).unwrap_or(MemberRole::Member);
    let row_error = Signal::derive(move || {
        let err = |e: Option<Result<(), AppError>>| e.and_then(|r| r.err());
        err(actions.role.value().get())
            .or_else(|| err(actions.remove.value().get()))
            .or_else(|| err(actions.transfer.value().get()))
    });
    let columns: &'static [&'static str] = if owner {
        &["Address", "Role", "Status", "Last log-in", "Last pull", "Actions"]
    } else {
        &["Address", "Role", "Status", "Last log-in", "Last pull"]
    };
    let name = org.name.clone();
    view! {
        <h1 class="mt-3 text-2xl font-semibold break-all" data-testid="organisation-name">{org.name.clone()}</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Your role: "<strong data-testid="my-role">{my_role.label()}</strong>{format!(" ({}).", my_role.describe())}
            " Members share the organisation's products; each makes their own credentials."
        </p>
        {owner.then(|| view! { <RenameForm name=org.name.clone() rename=actions.rename/> })}
        <section class="mt-6 min-w-0">
            <h2 class="mb-2 text-lg font-semibold">"Members"</h2>
            <FormError error=row_error fields=&[]/>
            <DataTable columns secondary=&["Last log-in", "Last pull"] label="Members" testid="members-table">
                {org.members.into_iter().map(|m| view! { <MemberRow member=m me=me.id owner actions/> }).collect_view()}
            </DataTable>
        </section>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            {owner.then(|| view! { <InviteForm actions/> })}
            <LeaveSection name leave=actions.leave/>
        </div>
    }
}

/// The owners' form that renames the organisation.
#[component]
fn RenameForm(name: String, rename: ServerAction<RenameOrganisation>) -> impl IntoView {
    let error = Signal::derive(move || rename.value().get().and_then(|r| r.err()));
    view! {
        <ActionForm action=rename attr:class="mt-4 max-w-xl" attr:data-testid="rename-organisation">
            <FormError error fields=&["name"]/>
            <label class=LABEL>
                "Organisation name"
                <div class="mt-1 flex gap-2">
                    <input class=format!("{INPUT_CLASS} mt-0") type="text" name="name" value=name required=true maxlength="200" autocomplete="organization"/>
                </div>
            </label>
            <FieldError name="name" error/>
            // Every member sees the name (and the vendor's admins, in mails): asked first.
            <div class="mt-2">
                <Confirm label="Rename" question="Rename the organisation? Every member and the vendor see the new name." testid="rename-ask">
                    <button type="submit" class=CONFIRM data-testid="rename-confirm">"Rename"</button>
                </Confirm>
            </div>
        </ActionForm>
    }
}

/// One member or invitation; owners get the role form and the actions
/// (none on their own row: ownership moves with "Make owner", leaving with
/// "Leave organisation").
#[component]
fn MemberRow(member: MemberView, me: i64, owner: bool, actions: Actions) -> impl IntoView {
    let m = member;
    let id = m.id;
    let you = id == me;
    let manage = owner && !you;
    let pending = m.joined_at.is_none();
    let status = match &m.joined_at {
        Some(at) => view! { "Joined "<UtcTime at=at.clone()/> }.into_any(),
        None => {
            let by = m.invited_by.as_deref().map_or_else(|| "Invited".to_owned(), |by| format!("Invited by {by}"));
            view! { <Badge text="invited" tone=Tone::Warn/>" "{format!("{by}, not yet accepted")} }.into_any()
        }
    };
    let role_cell = if manage {
        let role = m.role;
        let label = format!("Role of {}", m.email);
        let save_label = format!("Save the role of {}", m.email);
        let change_label = format!("Change role of {}", m.email);
        let question = format!("Change the role of {}? Owners manage members, credentials and billing; billing members buy; members pull.", m.email);
        view! {
            <ActionForm action=actions.role attr:class="flex items-center gap-2">
                <input type="hidden" name="id" value=id.to_string()/>
                <select name="role" class=format!("{INPUT_CLASS} mt-0 min-w-[7.5rem]") aria-label=label data-testid="member-role-select">
                    {MemberRole::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == role>{r.label()}</option> }).collect_view()}
                </select>
                <Confirm label="Save" name=save_label.clone() testid="member-role-save"
                    question=question>
                    <button type="submit" class=CONFIRM aria-label=change_label.clone()>"Change role"</button>
                </Confirm>
            </ActionForm>
        }
        .into_any()
    } else {
        view! { <span data-testid="member-role">{m.role.label()}</span> }.into_any()
    };
    let email = m.email.clone();
    let may_own = !pending && !m.disabled && m.role != MemberRole::Owner;
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="member-row" data-email=email.clone()>
            <td class=format!("{TD} break-all") data-label="Address">
                <span class="font-medium">{m.email}</span>
                {you.then(|| view! { <span class="whitespace-nowrap text-xs text-slate-600">" (you)"</span> })}
                {m.name.map(|n| view! { <div class="text-xs text-slate-600">{n}</div> })}
                {m.disabled.then(|| view! { <div class="text-xs text-red-700">"account disabled by the vendor"</div> })}
            </td>
            <td class=TD data-label="Role">{role_cell}</td>
            <td class=TD data-label="Status" data-testid="member-status">{status}</td>
            <td class=format!("{TD2} whitespace-nowrap") data-label="Last log-in"><MaybeUtcTime at=m.last_login_at/></td>
            <td class=format!("{TD2} whitespace-nowrap") data-label="Last pull"><MaybeUtcTime at=m.last_pulled_at/></td>
            {owner.then(|| view! {
                <td class=TD data-label="Actions">
                    <div class="flex flex-wrap gap-2">
                        {(manage && pending).then(|| view! {
                            <Confirm label="Withdraw" name=format!("Withdraw the invitation to {email}") testid="withdraw-invitation" question=format!("Withdraw the invitation to {email}? Its link stops working.")>
                                <ActionForm action=actions.remove>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <button type="submit" class=CONFIRM_DANGER>"Confirm withdraw"</button>
                                </ActionForm>
                            </Confirm>
                        })}
                        {(manage && may_own).then(|| view! {
                            <Confirm label="Make owner" name=format!("Make owner {email}") testid="make-owner" question=format!("Hand ownership to {email}? They become the owner; you become a member.")>
                                <ActionForm action=actions.transfer>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <button type="submit" class=CONFIRM>"Confirm hand-over"</button>
                                </ActionForm>
                            </Confirm>
                        })}
                        {(manage && !pending).then(|| view! {
                            <Confirm label="Remove" name=format!("Remove {email}") danger=true testid="remove-member"
                                question=format!("Remove {email}? Their own credentials are revoked at once; the organisation's credentials keep working.")>
                                <ActionForm action=actions.remove>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <button type="submit" class=CONFIRM_DANGER>"Confirm remove"</button>
                                </ActionForm>
                            </Confirm>
                        })}
                    </div>
                </td>
            })}
        </tr>
    }
}

/// The owners' invitation form: an address and a role (each with what it
/// may do). The answer is the same whether or not the address has an
/// account, and so is what the page says.
#[component]
fn InviteForm(actions: Actions) -> impl IntoView {
    let Actions { invite, invited, .. } = actions;
    let error = Signal::derive(move || invite.value().get().and_then(|r| r.err()));
    let sent = Signal::derive(move || matches!(invite.value().get(), Some(Ok(()))).then(|| format!("Invitation sent to {}.", invited.get())));
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(invite.value().get(), Some(Ok(()))), form);
    view! {
        <section class=CARD>
            <h2 class="mb-3 font-semibold">"Invite a colleague"</h2>
            <ActionForm action=invite node_ref=form attr:class="space-y-3" attr:data-testid="invite-member">
                <FormError error fields=&["email", "role"]/>
                <Field name="email" label="E-mail" kind="email" autocomplete="off" error/>
                <label class=LABEL>
                    "Role"
                    <select name="role" class=INPUT_CLASS>
                        {MemberRole::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=r == MemberRole::Member>{format!("{}: {}", r.label(), r.describe())}</option>
                        }).collect_view()}
                    </select>
                </label>
                <FieldError name="role" error/>
                <p class="text-sm text-slate-600">"They get a mail with a link to set their password and join."</p>
                <button type="submit" class=BUTTON>"Send invitation"</button>
                <Toast message=sent pending=invite.pending() testid="invited"/>
            </ActionForm>
        </section>
    }
}

/// Leaving, for every member: asks first; the server's refusal (the last
/// owner) is shown beside it.
#[component]
fn LeaveSection(name: String, leave: ServerAction<LeaveOrganisation>) -> impl IntoView {
    let error = Signal::derive(move || leave.value().get().and_then(|r| r.err()));
    view! {
        <section class=format!("{CARD} h-fit")>
            <h2 class="mb-2 font-semibold">"Leave the organisation"</h2>
            <p class="mb-3 text-sm text-slate-600">"Your own credentials are revoked at once; the organisation's keep working. An owner can invite you again."</p>
            <FormError error fields=&[]/>
            <Confirm label="Leave organisation" danger=true testid="leave-organisation" question=format!("Leave {name}?")>
                <ActionForm action=leave>
                    <button type="submit" class=CONFIRM_DANGER>"Confirm leave"</button>
                </ActionForm>
            </Confirm>
        </section>
    }
}
