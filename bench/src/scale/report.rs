//! The scale run as tables and one JSON line.
use serde_json::{Value, json};

use super::{OperatorReport, Params, ScaleReport};
use crate::report::{Table, one};
use crate::stats;

/// The result tables.
pub fn tables(params: &Params, report: &ScaleReport) -> Vec<Table> {
    let mut fleet = Table::new("scale: fleet", &["measure", "value"]);
    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    let counts = |c: &super::Counts| {
        format!(
            "{} ConfigMaps, {} Secrets, {} Deployments",
            c.config_maps, c.secrets, c.deployments
        )
    };
    fleet.row(vec!["cluster".into(), report.cluster.clone()]);
    fleet.row(vec!["namespace".into(), params.namespace.clone()]);
    fleet.row(vec![
        "added API latency".into(),
        format!("{} ms", params.api_latency.as_millis()),
    ]);
    fleet.row(vec!["created".into(), counts(&report.created)]);
    fleet.row(vec!["listed afterwards".into(), counts(&report.listed)]);
    fleet.row(vec!["object size".into(), format!("{} B", params.size)]);
    fleet.row(vec!["raw data".into(), mib(report.raw_bytes)]);
    let objects = report.created.config_maps + report.created.secrets + report.created.deployments;
    fleet.row(vec![
        "create time".into(),
        format!(
            "{:.2} s ({:.0} objects/s, concurrency {})",
            report.create_seconds,
            objects as f64 / report.create_seconds.max(1e-9),
            params.concurrency
        ),
    ]);
    if let Some(memory) = report.server_memory {
        fleet.row(vec![
            "API server RSS / peak".into(),
            format!(
                "{} / {}",
                mib(memory.rss_kib * 1024),
                mib(memory.hwm_kib * 1024)
            ),
        ]);
    }
    let mut tables = vec![fleet];
    match &report.operator {
        Ok(operator) => tables.extend(operator_tables(operator)),
        Err(reason) => {
            let mut skipped = Table::new("scale: operator", &["measure", "value"]);
            skipped.row(vec![
                "operator step".into(),
                format!("not measured: {reason}"),
            ]);
            tables.push(skipped);
        }
    }
    tables
}

fn operator_tables(op: &OperatorReport) -> Vec<Table> {
    let mut table = Table::new("scale: operator", &["measure", "value", "target"]);
    let mut row = |m: &str, v: String, t: &str| table.row(vec![m.into(), v, t.into()]);
    row("start to ready", format!("{:.0} ms", op.ready_ms), "< 10 s");
    row(
        "RSS after initial sync",
        format!("{:.1} MiB", op.memory.rss_kib as f64 / 1024.0),
        "< 64 MiB",
    );
    row(
        "peak RSS (VmHWM)",
        format!("{:.1} MiB", op.memory.hwm_kib as f64 / 1024.0),
        "-",
    );
    row("RSS / raw data", format!("{:.3}", op.rss_to_raw), "< 0.1");
    row(
        "writes during initial sync",
        op.initial_patches.to_string(),
        "-",
    );
    if let Some(reaction) = &op.reaction {
        row(
            "reaction p50",
            format!("{} ms", stats::ms(reaction.p50)),
            "< 20 ms",
        );
        row(
            "reaction p99",
            format!("{} ms", stats::ms(reaction.p99)),
            "< 100 ms",
        );
        row(
            "reaction max (n)",
            format!("{} ms ({})", stats::ms(reaction.max), reaction.count),
            "-",
        );
    }
    row(
        "CPU per update",
        format!("{:.2} ms", op.cpu_ms_per_update),
        "-",
    );
    let requests: Vec<String> = op
        .requests_per_update
        .iter()
        .map(|(v, n)| format!("{v} {n:.2}"))
        .collect();
    row("API requests per update", requests.join(", "), "no list");
    row("requests counted", op.counting.describe().to_owned(), "-");
    row(
        "fan-out, no budget: all patched",
        format!("{:.0} ms", op.fanout_all_patched_ms),
        "< 2 s",
    );
    row(
        "restart: ready",
        format!("{:.0} ms", op.restart_ready_ms),
        "-",
    );
    row(
        "restart: writes / templates changed",
        format!("{} / {}", op.restart_patches, op.restart_changed_templates),
        "0 / 0",
    );
    row(
        "fan-out under budget: rate",
        format!(
            "{} /s (asked {})",
            one(op.budget_rate_measured),
            op.budget_rate_target
        ),
        "within 10%",
    );
    let mut histogram = Table::new("scale: reaction histogram", &["bucket", "updates"]);
    for (label, count) in stats::histogram_labels()
        .into_iter()
        .zip(&op.reaction_histogram)
    {
        histogram.row(vec![label, count.to_string()]);
    }
    vec![table, histogram]
}

/// The JSON line.
pub fn json(params: &Params, report: &ScaleReport) -> Value {
    let operator = match &report.operator {
        Ok(operator) => json!(operator),
        Err(reason) => json!({"notMeasured": reason}),
    };
    json!({
        "benchmark": "scale",
        "params": {"configmaps": params.configmaps, "secrets": params.secrets, "size": params.size,
                   "deployments": params.deployments, "fanout": params.fanout, "updates": params.updates,
                   "apiLatencyMs": params.api_latency.as_millis()},
        "cluster": report.cluster, "namespace": params.namespace,
        "created": report.created, "listed": report.listed, "rawBytes": report.raw_bytes,
        "createSeconds": report.create_seconds, "serverMemory": report.server_memory,
        "operator": operator,
    })
}
