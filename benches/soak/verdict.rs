//! Whether a resource keeps growing: the slope of each after the warm-up, the rule of its
//! [`Rule`], and the checks that everything went back once the load stopped.

use crate::sampler::{RESOURCES, Rule, Sample};

/// Every resource's value at the four quiet moments of the run, in [`RESOURCES`] order.
pub struct Snapshots {
    /// Users registered and rooms made, no socket open.
    pub before: [f64; RESOURCES.len()],
    /// Every watcher open, no other load: the baseline of [`Rule::Baseline`].
    pub watched: [f64; RESOURCES.len()],
    /// The load stopped and settled, the watchers still open: must equal `watched`.
    pub settled: [f64; RESOURCES.len()],
    /// Every socket closed: the counts must equal `before`.
    pub closed: [f64; RESOURCES.len()],
    /// The database pool's maximum, for the allowances that depend on it.
    pub pool_max: f64,
}

/// Least-squares slope of `values` over `times`, per unit of time; 0 with fewer than two.
pub fn slope(times: &[f64], values: &[f64]) -> f64 {
    let n = times.len() as f64;
    if times.len() < 2 {
        return 0.0;
    }
    let (mean_t, mean_v) = (times.iter().sum::<f64>() / n, values.iter().sum::<f64>() / n);
    let covariance: f64 = times.iter().zip(values).map(|(t, v)| (t - mean_t) * (v - mean_v)).sum();
    let variance: f64 = times.iter().map(|t| (t - mean_t).powi(2)).sum();
    if variance > 0.0 { covariance / variance } else { 0.0 }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Prints the slope table and returns each resource's verdict: passed, and a line saying why.
pub fn judge(samples: &[Sample], warmup_seconds: f64, snapshots: &Snapshots) -> Vec<(bool, String)> {
    let window: Vec<&Sample> = samples.iter().filter(|sample| sample.at >= warmup_seconds).collect();
    let times: Vec<f64> = window.iter().map(|sample| sample.at).collect();
    let span = times.last().zip(times.first()).map_or(0.0, |(last, first)| last - first);
    let third = window.len() / 3;
    println!();
    println!(
        "after the {warmup_seconds:.0} s warm-up: {} samples over {span:.0} s; slope by least squares, projected to an hour",
        window.len()
    );
    println!(
        "{:<9} {:>12} {:>30} {:>10} {:>14} {:>14}  verdict",
        "resource", "slope/hour", "mean of thirds (1st/2nd/3rd)", "limit/h", "settled/base", "closed/before"
    );
    let mut verdicts = Vec::new();
    for (index, resource) in RESOURCES.iter().enumerate() {
        let values: Vec<f64> = window.iter().map(|sample| sample.values[index]).collect();
        let (settled, watched) = (snapshots.settled[index], snapshots.watched[index]);
        let (closed, before) = (snapshots.closed[index], snapshots.before[index]);
        if values.is_empty() || values.iter().any(|value| value.is_nan()) || third == 0 {
            println!("{:<9} not judged: not exported by the server, or too few samples", resource.name);
            verdicts.push((false, format!("{}: not judged (not exported, or too few samples)", resource.name)));
            continue;
        }
        let per_hour = slope(&times, &values) * 3600.0;
        let thirds = [&values[..third], &values[third..values.len() - third], &values[values.len() - third..]];
        let [first, middle, last] = thirds.map(mean);
        let (verdict, passed, limit) = match resource.rule {
            Rule::Growth { per_hour: limit, allowance, comes_back } => {
                let allowance = allowance.amount(snapshots.pool_max);
                let predicted = per_hour / 3600.0 * span;
                let grows = per_hour > limit && predicted > allowance && last > middle;
                let stuck = comes_back && closed > before + allowance;
                let verdict = match (grows, stuck) {
                    (true, _) => format!(
                        "GROWS: {per_hour:+.1} {}/h over {limit:.1}, {predicted:+.1} over the window past ±{allowance:.0}",
                        resource.unit
                    ),
                    (false, true) => format!("NOT BACK: {closed} after every socket closed, {before} before"),
                    (false, false) => "flat".into(),
                };
                (verdict, !grows && !stuck, format!("{limit:.1}"))
            }
            Rule::Baseline => {
                let floor = values[values.len() - third..].iter().copied().fold(f64::INFINITY, f64::min);
                let grows = floor > watched;
                let verdict = if grows {
                    format!("GROWS: every sample of the last third above {watched} (lowest {floor})")
                } else if settled != watched {
                    format!("NOT BACK: {settled} once the load stopped, {watched} before it")
                } else if closed != before {
                    format!("NOT BACK: {closed} after every socket closed, {before} before")
                } else {
                    "flat".into()
                };
                (verdict.clone(), verdict == "flat", format!("={watched}"))
            }
            Rule::Info => ("(shown only)".into(), true, "-".into()),
        };
        println!(
            "{:<9} {per_hour:>+12.2} {:>30} {limit:>10} {:>14} {:>14}  {verdict}",
            resource.name,
            format!("{} / {} / {}", short(first), short(middle), short(last)),
            format!("{} / {}", short(settled), short(watched)),
            format!("{} / {}", short(closed), short(before)),
        );
        if !matches!(resource.rule, Rule::Info) {
            verdicts.push((passed, format!("{}: {verdict}", resource.name)));
        }
    }
    verdicts
}

/// A value with as many decimals as it needs, at most one.
pub fn short(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}
