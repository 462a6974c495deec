//! The memory benchmark's table and verdicts.

use std::time::Duration;

use crate::load::Phase;

/// The target: the server's `VmRSS` after the idle wait, in MiB.
pub const TARGET_MIB: f64 = 64.0;

/// Every figure the report prints; memory in KiB.
pub struct Figures {
    /// When `/readyz` first answered 200.
    pub ready: u64,
    /// After the settling that follows: "before".
    pub before: u64,
    pub registrations: Phase,
    pub logins: Phase,
    /// The largest sample of the run.
    pub peak: u64,
    /// The largest sample during the registrations, and during the logins.
    pub peak_registering: u64,
    pub peak_logging_in: u64,
    /// `VmHWM` at the end.
    pub high_water: u64,
    /// Seconds into the idle wait, and the first sample from then.
    pub idle_marks: Vec<(u64, Option<u64>)>,
    /// How long the idle wait was.
    pub idle: Duration,
    /// At the end of the idle wait: "after".
    pub after: u64,
}

/// Prints the table, the verdicts and the first failure of each phase; true when every
/// check passes.
pub fn print(figures: &Figures) -> bool {
    let f = figures;
    let row = |measure: &str, result: String| println!("{measure:<52} {result:>24}");
    println!();
    println!("{:<52} {:>24}", "measure", "result");
    row("server VmRSS when ready", format!("{} MiB", mib(f.ready)));
    row("before: VmRSS after settling", format!("{} MiB", mib(f.before)));
    for (name, phase) in [("registrations", &f.registrations), ("logins", &f.logins)] {
        row(
            &format!("{name}: {} in {:.1} s", phase.requests, phase.wall().as_secs_f64()),
            format!("{:.1}/s, {} failed", phase.rate(), phase.failed),
        );
    }
    row(
        "peak VmRSS sampled: registrations / logins",
        format!("{} / {} MiB", mib(f.peak_registering), mib(f.peak_logging_in)),
    );
    row("peak: VmRSS sampled / VmHWM (start-up included)", format!("{} / {} MiB", mib(f.peak), mib(f.high_water)));
    for (seconds, kib) in &f.idle_marks {
        row(
            &format!("VmRSS {seconds} s into the idle wait"),
            kib.map_or("no sample".into(), |kib| format!("{} MiB", mib(kib))),
        );
    }
    row(&format!("after: VmRSS after {:.0} s idle", f.idle.as_secs_f64()), format!("{} MiB", mib(f.after)));
    row(
        "handed back while idle: peak − after, of peak − before",
        format!("{} of {} MiB", mib(f.peak.saturating_sub(f.after)), mib(f.peak.saturating_sub(f.before))),
    );

    for (name, phase) in [("registration", &f.registrations), ("login", &f.logins)] {
        if let Some(error) = &phase.first_error {
            println!("first failed {name}: {error}");
        }
    }
    let after_mib = f.after as f64 / 1024.0;
    let failed = f.registrations.failed + f.logins.failed;
    let requests = f.registrations.requests + f.logins.requests;
    let checks = [
        (
            after_mib <= TARGET_MIB,
            format!(
                "server VmRSS at most {TARGET_MIB} MiB after {:.0} s idle ({after_mib:.1} MiB)",
                f.idle.as_secs_f64()
            ),
        ),
        (failed == 0, format!("every request succeeded ({failed} of {requests} failed)")),
    ];
    println!();
    for (passed, line) in &checks {
        println!("{}  {line}", if *passed { "PASS" } else { "FAIL" });
    }
    checks.iter().all(|(passed, _)| *passed)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
