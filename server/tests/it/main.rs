//! The integration tests, as one test binary (`cargo test -p server --test it`):
//! one module per area, the shared harness in `support/`. Linking the app
//! once instead of once per area keeps builds short and lets the compiler
//! see every use of the harness.
//!
//! Every test that needs a database runs twice, as `AREA::sqlite::NAME` and
//! `AREA::postgres::NAME` (`on_both_backends!`); `scripts/test.sh` selects the
//! two runs by those path segments. Tests share one process and run in
//! parallel: each gets its own app, port, temp dir and database; child
//! processes get their settings explicitly (the portal's CLI with a cleared
//! environment); nothing calls `std::env::set_var`; and the one process-wide
//! thing, the tracing subscriber, is installed once by whichever test comes
//! first (`TestApp::spawn_with`).

#[macro_use]
mod support;

mod api;
mod api_guard;
mod audit;
mod audit_search;
mod audit_chain;
mod audit_guard;
mod auth;
mod billing;
mod catalogue;
mod cli;
mod credentials;
mod escaping;
mod fleet;
mod gateway;
mod harbor;
mod mail;
mod notices;
mod organisations;
mod reconcile;
mod hostile;
mod http;
mod keys;
mod registry;
mod registry_token;
mod requests;
mod two_factor;
