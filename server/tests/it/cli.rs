//! The `portcullis` binary as an operator uses it: help, one-line
//! configuration errors, migrations, and creating users from stdin.

use crate::support::{fresh_database, Backend};
use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

fn portcullis(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Nothing from the developer's environment or .env leaks in.
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("PORTCULLIS_LOG", "error");
    let dir = tempfile::tempdir().unwrap();
    cmd.current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("portcullis runs");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // A command that refuses its arguments may exit before reading:
        // its stdin is then closed, which is no failure of the test.
        if let Err(e) = pipe.write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing to portcullis's stdin: {e}");
        }
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn every_command_has_help() {
    for args in [&["--help"][..], &["serve", "--help"], &["migrate", "--help"], &["user", "create", "--help"]] {
        let out = portcullis(args, &[], None);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn a_missing_secret_is_one_line_naming_the_variable() {
    let out = portcullis(&["serve"], &[], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("PORTCULLIS_SESSION_SECRET"), "{err}");

    let out = portcullis(&["migrate"], &[("PORTCULLIS_DATABASE_URL", "mysql://nope")], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).starts_with("error: PORTCULLIS_DATABASE_URL:"));
}

async fn user_create_reads_the_password_from_stdin(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let env = [("PORTCULLIS_DATABASE_URL", url.as_str())];
    let out = portcullis(&["migrate"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let args = ["user", "create", "--email", "ops@example.com", "--role", "admin"];
    let out = portcullis(&args, &env, Some("a long enough password\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created admin ops@example.com"));

    // Same address again: refused, non-zero, one line.
    let out = portcullis(&args, &env, Some("a long enough password\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"));
    // Bad role, weak password, nothing on stdin.
    let bad_role = ["user", "create", "--email", "x@example.com", "--role", "root"];
    assert!(text(&portcullis(&bad_role, &env, Some("a long enough password")).stderr).contains("--role"));
    let weak = ["user", "create", "--email", "x@example.com", "--role", "customer"];
    assert!(text(&portcullis(&weak, &env, Some("short")).stderr).contains("at least 12"));
    assert!(text(&portcullis(&weak, &env, None).stderr).contains("empty"));

    let db = app::backend::db::Db::connect(&url).await.unwrap();
    let user = app::backend::db::users::find_by_email(&db, &app::domain::Email::parse("ops@example.com").unwrap())
        .await
        .unwrap()
        .expect("user stored");
    assert_eq!(user.role(), app::domain::Role::Admin);
    assert!(user.password_hash.expose().starts_with("$argon2id$"));
    let audit = app::backend::db::audit::list_recent(&db, None, 10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "user.create" && e.actor == "cli"));
}

async fn apikey_create_prints_the_secret_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let env = [("PORTCULLIS_DATABASE_URL", url.as_str())];
    assert!(text(&portcullis(&["apikey", "create", "--help"], &env, None).stdout).contains("Usage"));

    let out = portcullis(&["apikey", "create", "--name", "crm", "--role", "auditor"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("will not be shown again"), "{stdout}");
    let secret = stdout
        .split_whitespace()
        .find(|w| w.starts_with("pc_"))
        .unwrap_or_else(|| panic!("a secret in {stdout}"))
        .to_owned();
    assert_eq!(stdout.matches(&secret).count(), 1, "the secret is printed once: {stdout}");

    // Stored hashed: the secret works, and is nowhere in the table.
    let db = app::backend::db::Db::connect(&url).await.unwrap();
    let row = app::backend::services::api_keys::authenticate(&db, &secret).await.unwrap().expect("the printed secret works");
    assert_eq!((row.name.as_str(), row.role.as_str()), ("crm", "auditor"));
    let secret_part = secret.rsplit('_').next().unwrap();
    assert!(!row.secret_hash.contains(secret_part));
    let audit = app::backend::db::audit::list_recent(&db, None, 10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "apikey.create" && e.actor == "cli"));

    // Bad input: one line naming the option, non-zero exit, no key made.
    for (args, needle) in [
        (["apikey", "create", "--name", "x", "--role", "customer"], "--role"),
        (["apikey", "create", "--name", "  ", "--role", "admin"], "--name"),
    ] {
        let out = portcullis(&args, &env, None);
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
    assert_eq!(app::backend::services::api_keys::list(&db).await.unwrap().len(), 1);
}

on_both_backends!(user_create_reads_the_password_from_stdin, apikey_create_prints_the_secret_once);
