//! Pages anyone may open: the home page, the catalogue and a product (with
//! what a customer owns of it, `ownership`), log in
//! and sign up, "Forgot password" and the page its link opens, demo mode's
//! mailbox.

pub mod auth;
pub mod catalogue;
pub mod home;
pub mod mailbox;
pub mod ownership;
pub mod recovery;
