//! A process's CPU time from `/proc/<pid>/stat` (Linux), for the benchmarks that run the
//! server as a child process and report only its figures.

use std::{fs, process::Command, sync::OnceLock};

use anyhow::Context as _;

/// User and system CPU seconds of the process whose stat file is `path`
/// (`/proc/<pid>/stat` or `/proc/self/stat`).
pub fn user_and_system(path: &str) -> anyhow::Result<(f64, f64)> {
    let stat = fs::read_to_string(path).with_context(|| format!("could not read {path}"))?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis
    // start at field 3 (state), so utime (14) and stime (15) are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').context("no command name")?.1.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields.get(index).context("short stat line")?.parse::<f64>()? / clock_ticks_per_second())
    };
    Ok((ticks(11)?, ticks(12)?))
}

/// `getconf CLK_TCK`: the unit of `/proc` CPU times (100 on Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
