//! Who is logged in, and the actions that change it: provided once by
//! `crate::App`, read by any component with `use_auth()`.

use crate::error::AppError;
use crate::server_fns::auth::{Login, Logout, Signup};
use crate::views::SessionUser;
use leptos::prelude::*;

/// Who is logged in, and the actions that change it. Provided by `App`.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<SessionUser>, AppError>>,
    pub login: ServerAction<Login>,
    pub signup: ServerAction<Signup>,
    pub logout: ServerAction<Logout>,
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}
