//! The sync's CloudWatch metrics, as one embedded-metric-format (EMF) log line in namespace
//! `quarry`: CatalogModels, CatalogChanged, CatalogSyncErrors, AllowlistedModelsRetiring.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::report::{Outcome, SyncReport};

/// The CloudWatch namespace quarry's metrics go to.
pub const NAMESPACE: &str = "quarry";
/// The `Service` dimension of the sync's metrics.
pub const SERVICE: &str = "catalog-sync";

/// The EMF document of `report`. A failed sync reports only CatalogSyncErrors and
/// CatalogChanged (its listing, if any, was not used).
pub fn emf(report: &SyncReport, now: SystemTime) -> Value {
    let failed = report.outcome == Outcome::Failed;
    let mut values = vec![
        ("CatalogChanged", json!(u8::from(report.outcome == Outcome::Written))),
        ("CatalogSyncErrors", json!(u8::from(failed))),
    ];
    if !failed {
        values.push(("CatalogModels", json!(report.models)));
        values.push(("AllowlistedModelsRetiring", json!(report.retiring.len())));
    }
    let declared: Vec<Value> =
        values.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect();
    let timestamp = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut document = Map::new();
    document.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": u64::try_from(timestamp).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": declared,
            }]
        }),
    );
    document.insert("Service".to_owned(), json!(SERVICE));
    for (name, value) in values {
        document.insert(name.to_owned(), value);
    }
    Value::Object(document)
}

/// Writes the metrics line to stdout, where Lambda's log agent picks EMF up.
pub fn emit(report: &SyncReport) {
    let line = emf(report, SystemTime::now());
    // A metrics line lost to a closed stdout is not worth failing the sync over.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use quarry::catalog::{Retirement, RetiringModel};

    use super::*;
    use crate::SyncError;

    /// Every metric declared is present, every dimension has a value (the EMF specification's
    /// rules: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
    fn assert_valid_emf(document: &Value) {
        let declared = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "quarry");
        for metric in declared["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a name");
            assert!(document[name].is_number(), "{name} declared without a value");
        }
        for set in declared["Dimensions"].as_array().expect("dimension sets") {
            for dimension in set.as_array().expect("a set") {
                let name = dimension.as_str().expect("a name");
                assert!(document[name].is_string(), "{name} has no value");
            }
        }
    }

    #[test]
    fn a_written_catalog_counts_models_changes_and_retiring_models() {
        let mut report = SyncReport::new();
        report.outcome = Outcome::Written;
        report.models = 64;
        report.retiring = vec![RetiringModel {
            allowed: "meta.llama3-1-8b-instruct-v1:0".parse().expect("id"),
            retirement: Retirement::Missing,
            newly: true,
        }];
        let document = emf(&report, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_valid_emf(&document);
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        assert_eq!(document["CatalogModels"], 64);
        assert_eq!(document["CatalogChanged"], 1);
        assert_eq!(document["CatalogSyncErrors"], 0);
        assert_eq!(document["AllowlistedModelsRetiring"], 1);
        assert_eq!(document["Service"], "catalog-sync");
    }

    #[test]
    fn a_failed_sync_counts_an_error_and_no_listing() {
        let mut report = SyncReport::new();
        report.error = Some(SyncError::EmptyListing);
        let document = emf(&report, UNIX_EPOCH);
        assert_valid_emf(&document);
        assert_eq!(document["CatalogSyncErrors"], 1);
        assert_eq!(document["CatalogChanged"], 0);
        assert!(document.get("CatalogModels").is_none());
        assert!(document.get("AllowlistedModelsRetiring").is_none());
    }
}
