//! The binary: bad settings stop start-up with one line naming the variable; the
//! subcommands do what they say.

use std::process::Command;

fn townsquare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_townsquare"));
    // A directory without a .env, so only the variables set here count.
    command.current_dir(std::env::temp_dir());
    for var in ["PORT", "DATABASE_URL", "APP_ENV", "JWT_SECRET", "SESSION_TIMEOUT_MINUTES", "REDIS_URL", "SMTP_URL"] {
        command.env_remove(var);
    }
    command
}

#[test]
fn bad_settings_stop_start_up_with_one_line_naming_the_variable() {
    let cases = [
        ("PORT", "abc", "a word is not a port"),
        ("DATABASE_URL", "mysql://x", "MySQL is not supported"),
        ("SESSION_TIMEOUT_MINUTES", "0", "a zero timeout would close every socket at once"),
        ("KEEPALIVE_INTERVAL_SECONDS", "soon", "an interval is a number"),
        ("REDIS_URL", "memcached://x", "an unknown URL scheme"),
    ];
    for (var, value, reason) in cases {
        let output = townsquare().arg("serve").env(var, value).output().expect("the binary runs");
        assert!(!output.status.success(), "{reason}: start-up must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<_> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{reason}: one line, got {stderr:?}");
        assert!(lines[0].contains(var), "{reason}: the line names {var}: {stderr:?}");
    }
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let output = townsquare().arg("serve").env("APP_ENV", "production").output().expect("the binary runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
}

#[test]
fn export_schema_prints_the_sdl_without_any_setting() {
    let output = townsquare().arg("export-schema").env("PORT", "not-read").output().expect("the binary runs");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), townsquare::graphql::sdl());
}

#[test]
fn migrate_then_seed_demo_fill_a_new_database_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let migrate = townsquare().arg("migrate").env("DATABASE_URL", &url).output().expect("runs");
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let first = townsquare().arg("seed-demo").env("DATABASE_URL", &url).output().expect("runs");
    assert!(String::from_utf8_lossy(&first.stdout).contains("demo data created"));
    let second = townsquare().arg("seed-demo").env("DATABASE_URL", &url).output().expect("runs");
    assert!(String::from_utf8_lossy(&second.stdout).contains("nothing seeded"), "seeding twice writes nothing");
}

/// The variables `config.rs` reads: every `"NAME"` literal in upper snake case.
fn variables_read_by_config() -> Vec<String> {
    let source = include_str!("../../src/config.rs");
    let mut names: Vec<String> = source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.len() > 2 && text.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_readme_and_env_example_list_every_variable() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../.env.example");
    let names = variables_read_by_config();
    assert!(names.len() > 30, "the scan finds the variables: {names:?}");
    for name in names {
        assert!(readme.contains(&format!("`{name}`")), "README.md does not list {name}");
        assert!(example.contains(&format!("{name}=")), ".env.example does not show {name}");
    }
}
