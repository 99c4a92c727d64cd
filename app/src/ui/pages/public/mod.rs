//! Pages anyone may open: the home page, the catalogue and a product, log in
//! and sign up, "Forgot password" and the page its link opens, demo mode's
//! mailbox.

pub mod auth;
pub mod catalogue;
pub mod home;
pub mod mailbox;
pub mod recovery;
