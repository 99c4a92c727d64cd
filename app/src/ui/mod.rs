//! What the browser shows: `pages/` by area (the route table is in
//! `crate::app`), `components/` shared by the pages (components never import
//! pages), and `auth_context` (who is logged in, provided by the app).

pub mod auth_context;
pub mod components;
pub mod pages;
