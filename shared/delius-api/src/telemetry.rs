//! Logs and metrics.
//!
//! Logs: `lambda_runtime`'s subscriber, JSON when the function's log format is
//! JSON (as `template.yaml` sets it), carrying the request id. Never log tokens,
//! secrets or personal data beyond the CRN.
//!
//! Metrics: CloudWatch Embedded Metric Format, one JSON line on stdout per
//! data point, written by hand (it is a small format, and this keeps cold
//! start and binary size down).

use std::io::Write;

/// The CloudWatch namespace of every metric of the project.
pub const NAMESPACE: &str = "DeliusIntegrations";

/// Sets up structured logging once, in `main`.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// One EMF document: a counter of 1 (or `value`) for `metric`, with
/// `dimensions` as both the dimension set and top-level members.
pub fn emf_line(metric: &str, value: f64, unit: &str, dimensions: &[(&str, &str)], timestamp_ms: i64) -> String {
    let mut doc = serde_json::Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    doc.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": [{"Name": metric, "Unit": unit}],
            }],
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).into(), serde_json::Value::String((*v).into()));
    }
    doc.insert(metric.into(), serde_json::json!(value));
    serde_json::Value::Object(doc).to_string()
}

/// Writes a count metric to stdout, where Lambda picks EMF up.
pub fn count(metric: &str, dimensions: &[(&str, &str)]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let line = emf_line(metric, 1.0, "Count", dimensions, now);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// The HTTP functions' request outcome metric: route and status class.
pub fn request_outcome(function: &str, status: u16) {
    let class = format!("{}xx", status / 100);
    count("Requests", &[("Function", function), ("StatusClass", &class)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_shape() {
        let line = emf_line("Allocations", 1.0, "Count", &[("Kind", "person"), ("Outcome", "recorded")], 1700000000000);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0], serde_json::json!(["Kind", "Outcome"]));
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "Allocations");
        assert_eq!(v["Kind"], "person");
        assert_eq!(v["Allocations"], 1.0);
    }
}
