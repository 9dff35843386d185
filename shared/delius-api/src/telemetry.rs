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
    let mut line = Vec::with_capacity(256);
    write_emf(&mut line, metric, value, unit, dimensions, timestamp_ms);
    String::from_utf8(line).unwrap_or_default()
}

/// Writes the document straight into `out`: every request writes one, so no
/// intermediate JSON tree is built (strings are escaped by serde_json).
fn write_emf(out: &mut Vec<u8>, metric: &str, value: f64, unit: &str, dimensions: &[(&str, &str)], timestamp_ms: i64) {
    let string = |out: &mut Vec<u8>, text: &str| {
        let _ = serde_json::to_writer(&mut *out, text);
    };
    let _ = write!(out, "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":[{{\"Namespace\":");
    string(out, NAMESPACE);
    out.extend_from_slice(b",\"Dimensions\":[[");
    for (i, (name, _)) in dimensions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name);
    }
    out.extend_from_slice(b"]],\"Metrics\":[{\"Name\":");
    string(out, metric);
    out.extend_from_slice(b",\"Unit\":");
    string(out, unit);
    out.extend_from_slice(b"}]}]}");
    for (name, value) in dimensions {
        out.push(b',');
        string(out, name);
        out.push(b':');
        string(out, value);
    }
    out.push(b',');
    string(out, metric);
    out.push(b':');
    // serde_json's number format (`1.0`, not `1`); a non-finite value is `null`.
    let _ = serde_json::to_writer(&mut *out, &value);
    out.push(b'}');
}

/// Writes a count metric to stdout, where Lambda picks EMF up: one `write`
/// of the whole line.
pub fn count(metric: &str, dimensions: &[(&str, &str)]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let mut line = Vec::with_capacity(256);
    write_emf(&mut line, metric, 1.0, "Count", dimensions, now);
    line.push(b'\n');
    let _ = std::io::stdout().lock().write_all(&line);
}

/// The HTTP functions' request outcome metric: route and status class.
pub fn request_outcome(function: &str, status: u16) {
    count("Requests", &[("Function", function), ("StatusClass", status_class(status))]);
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_shape() {
        let line = emf_line("Allocations", 1.0, "Count", &[("Kind", "person"), ("Outcome", "recorded")], 1700000000000);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1700000000000i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0], serde_json::json!(["Kind", "Outcome"]));
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
            serde_json::json!({"Name": "Allocations", "Unit": "Count"})
        );
        assert_eq!(v["Kind"], "person");
        assert_eq!(v["Outcome"], "recorded");
        assert_eq!(v["Allocations"], 1.0);
        assert_eq!(v.as_object().map(|o| o.len()), Some(4));
    }

    #[test]
    fn dimension_values_are_escaped() {
        let line = emf_line("Panics", 2.5, "Count", &[("Function", "a\"b\\c\n")], 0);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["Function"], "a\"b\\c\n");
        assert_eq!(v["Panics"], 2.5);
        assert!(!line.contains('\n'), "one line: {line}");
    }

    #[test]
    fn status_classes() {
        for (status, class) in [(101, "1xx"), (200, "2xx"), (201, "2xx"), (302, "3xx"), (404, "4xx"), (503, "5xx")] {
            assert_eq!(status_class(status), class);
        }
    }
}
