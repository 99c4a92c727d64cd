//! Server-only code (the `ssr` feature), in three layers that import only
//! downward: `services` (the business rules, one home per fact), `db` (the
//! repository layer: the only SQL) and `web` (what every request shares:
//! state, request metadata, sessions, CSP, limits, password and secret
//! hashing). Server functions in `crate::server_fns` and the routes of the
//! `server` crate are thin: they authorise, parse, and call a service.

pub mod db;
pub mod services;
pub mod web;
