//! The soak's tables: operations minute by minute, and the samples.

use crate::{
    record::{Histogram, Op},
    sampler::{RESOURCES, Sample},
    verdict::short,
};

/// Two tables, one line a minute: how many of each operation completed (and failed), then
/// their p50 / p99 in milliseconds (bucket bounds, within 2%).
pub fn print_minutes(minutes: &[[Histogram; Op::ALL.len()]]) {
    println!();
    println!("operations a minute: completed (failed)");
    print!("{:>6}", "minute");
    for op in Op::ALL {
        print!(" {:>15}", op.name());
    }
    println!();
    for (index, ops) in minutes.iter().enumerate() {
        print!("{:>6}", index + 1);
        for histogram in ops {
            print!(" {:>15}", format!("{} ({})", histogram.count, histogram.errors));
        }
        println!();
    }
    println!();
    println!("latency a minute, p50 / p99 in ms");
    print!("{:>6}", "minute");
    for op in Op::ALL {
        print!(" {:>15}", op.name());
    }
    println!();
    for (index, ops) in minutes.iter().enumerate() {
        print!("{:>6}", index + 1);
        for histogram in ops {
            let cell = match (histogram.percentile_ms(0.5), histogram.percentile_ms(0.99)) {
                (Some(p50), Some(p99)) => format!("{} / {}", ms(p50), ms(p99)),
                _ => "-".into(),
            };
            print!(" {cell:>15}");
        }
        println!();
    }
}

/// Milliseconds with three significant digits at most.
fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// One line a sample: time, server CPU, the churn sockets open here, every resource.
pub fn print_samples(samples: &[Sample]) {
    println!();
    println!(
        "samples every 10 s (cpu: the server's, % of one core since the previous sample; churn: its sockets open then)"
    );
    print!("{:>6} {:>5} {:>5}", "t s", "cpu%", "churn");
    for resource in &RESOURCES {
        print!(" {:>8}", resource.name);
    }
    println!();
    for sample in samples {
        let cpu = if sample.cpu_percent.is_nan() { "-".into() } else { format!("{:.0}", sample.cpu_percent) };
        print!("{:>6.0} {cpu:>5} {:>5}", sample.at, sample.churn_open);
        for value in sample.values {
            print!(" {:>8}", short(value));
        }
        println!();
    }
}
