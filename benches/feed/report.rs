//! The printed report: the run's set-up, the page both servers answered, a table per
//! backend, and the verdict.

use serde_json::Value;

use crate::{
    Knobs,
    database::Backend,
    figures::{Comparison, Figures},
    verdict::{Line, Mark},
};

/// What the run is and on what machine.
pub fn print_header(knobs: &Knobs) {
    let backends: Vec<&str> = knobs.backends.iter().map(|backend| backend.name()).collect();
    let clients: Vec<String> = knobs.clients.iter().map(usize::to_string).collect();
    println!(
        "townsquare feed benchmark: {}, {} clients, {:.1} s measured after 1 s of warm-up, {} cores",
        backends.join(" and "),
        clients.join(", "),
        knobs.window.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    );
    println!("GraphQL server: {}", knobs.server_binary.display());
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        // Anything else running on the machine (a build, say) shows in every figure.
        println!("load average before the run: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
}

/// The shape of the page both servers answered with.
pub fn print_page(backend: Backend, answer: &Value) {
    let edges = answer["data"]["posts"]["edges"].as_array().map(Vec::as_slice).unwrap_or_default();
    let total =
        |list: &str| -> usize { edges.iter().map(|edge| edge["node"][list].as_array().map_or(0, Vec::len)).sum() };
    let liked = edges.iter().filter(|edge| edge["node"]["likedByViewer"] == true).count();
    println!(
        "\n{}: both servers answer the same page: {} posts ({liked} liked by the viewer), {} likers, {} comments, \
         {} commenters, {:.1} KB",
        backend.name(),
        edges.len(),
        total("likers"),
        total("comments"),
        total("commenters"),
        answer.to_string().len() as f64 / 1000.0,
    );
}

/// One backend's table: both servers at every concurrency, and the ratios.
pub fn print_backend(backend: Backend, place: &str, rows: &[Comparison]) {
    println!("\n{} ({place})", backend.name());
    println!(
        "{:>7}  {:<8}  {:>8}  {:>9}  {:>10}  {:>7}  {:>7}  {:>9}  {:>7}  {:>9}",
        "clients", "server", "req/s", "req/CPU-s", "server CPU", "p50 ms", "p99 ms", "stmts/req", "KB", "bench CPU"
    );
    for row in rows {
        print_figures(row.clients, "GraphQL", &row.graphql);
        print_figures(row.clients, "baseline", &row.baseline);
        println!(
            "{:>7}  {:<8}  {:>8}  {:>9}  {:>10}  {:>7}  {:>7}",
            "",
            "ratio",
            format!("{:.2}x", row.throughput_ratio()),
            format!("{:.2}x", row.cpu_ratio()),
            "",
            "",
            format!("{:.2}x", row.p99_ratio()),
        );
    }
    let failed: u64 = rows.iter().map(|row| row.graphql.failures + row.baseline.failures).sum();
    if failed > 0 {
        println!("{failed} requests failed");
    }
}

fn print_figures(clients: usize, server: &str, figures: &Figures) {
    println!(
        "{clients:>7}  {server:<8}  {:>8.1}  {:>9.1}  {:>9.0}%  {:>7.2}  {:>7.2}  {:>9.2}  {:>7.1}  {:>8.0}%",
        figures.per_second(),
        figures.per_cpu_second(),
        100.0 * figures.server_cores(),
        figures.p50.as_secs_f64() * 1e3,
        figures.p99.as_secs_f64() * 1e3,
        figures.statements_per_request,
        figures.bytes_per_answer / 1000.0,
        100.0 * figures.own_cores(),
    );
}

/// The verdict, one line each.
pub fn print_verdicts(lines: &[Line]) {
    println!();
    for line in lines {
        let mark = match line.mark {
            Mark::Pass => "PASS",
            Mark::Fail => "FAIL",
            Mark::Info => "info",
        };
        println!("{mark}  {}", line.text);
    }
}
