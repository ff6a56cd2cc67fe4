//! Cross-region inference geographies: each id prefix, its source regions, and where it routes.
//!
//! Sources (AWS Bedrock User Guide):
//! - "Supported Regions and models for inference profiles"
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html>
//!   (the per-profile "Source Regions / Destination Regions" tables) and the per-model pages under
//!   "models at a glance" (e.g. `model-card-anthropic-claude-sonnet-4-5`, "Geo inference details").
//! - "Geographic cross-Region inference"
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html>
//! - "Global cross-Region inference"
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html>:
//!   "The destination Regions for Global cross-Region inference profiles include all commercial
//!   Regions", so global profiles have no destination list here.
//!
//! Destinations depend on the model *and* on the source region (AWS: "Some inference profiles route
//! to different destination Regions depending on the source Region"). The tables below hold, for
//! each source region of a geography, the union of the destination regions of every documented
//! profile of that geography called from that source. An IAM grant built from it covers every
//! profile of the geography; the `bedrock:InferenceProfileArn` condition keeps it scoped to one
//! profile, so a region a particular profile never routes to grants nothing more. AWS states that
//! a geography-bound profile's destination list never changes; new regions come as new profiles,
//! so add rows here when AWS documents them.

use serde::{Deserialize, Serialize};

use crate::model::arn::Partition;

/// A system-defined cross-region inference profile geography, named by its id prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Geography {
    /// United States (`us.`).
    Us,
    /// AWS GovCloud (US) (`us-gov.`), in the `aws-us-gov` partition.
    UsGov,
    /// Europe (`eu.`).
    Eu,
    /// Asia Pacific (`apac.`).
    Apac,
    /// Japan (`jp.`).
    Jp,
    /// Australia (`au.`).
    Au,
    /// Canada (`ca.`).
    Ca,
    /// Global cross-region inference (`global.`): any commercial region.
    Global,
}

/// Where a cross-region inference profile may send a request made from one source region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// These destination regions (the source region is always among them).
    Regions(&'static [&'static str]),
    /// Any commercial AWS region (global profiles).
    AnyCommercialRegion,
}

/// One source region of a geography and the regions requests made from it may be routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Route {
    source: &'static str,
    destinations: &'static [&'static str],
}

const fn route(source: &'static str, destinations: &'static [&'static str]) -> Route {
    Route { source, destinations }
}

const US_MAIN: &[&str] = &["us-east-1", "us-east-2", "us-west-2"];
const US_WITH_WEST_1: &[&str] = &["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
/// `us.` profiles (e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `us.amazon.nova-2-lite-v1:0`;
/// `us.twelvelabs.pegasus-1-2-v1:0` from us-east-1 also reaches us-west-1).
const US: &[Route] = &[
    route("us-east-1", US_WITH_WEST_1),
    route("us-east-2", US_MAIN),
    route("us-west-1", US_WITH_WEST_1),
    route("us-west-2", US_MAIN),
    route("ca-central-1", &["ca-central-1", "us-east-1", "us-east-2", "us-west-2"]),
    route("ca-west-1", &["ca-west-1", "us-east-1", "us-east-2", "us-west-2"]),
];

const US_GOV_BOTH: &[&str] = &["us-gov-east-1", "us-gov-west-1"];
/// `us-gov.` profiles (e.g. `us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0`).
const US_GOV: &[Route] =
    &[route("us-gov-east-1", US_GOV_BOTH), route("us-gov-west-1", US_GOV_BOTH)];

const EU_MAIN: &[&str] =
    &["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"];
/// `eu.` profiles (e.g. `eu.anthropic.claude-sonnet-4-5-20250929-v1:0`, `eu.amazon.nova-pro-v1:0`).
const EU: &[Route] = &[
    route("eu-central-1", EU_MAIN),
    route(
        "eu-central-2",
        &[
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-3",
        ],
    ),
    route("eu-north-1", EU_MAIN),
    route("eu-south-1", EU_MAIN),
    route("eu-south-2", EU_MAIN),
    route("eu-west-1", EU_MAIN),
    route(
        "eu-west-2",
        &[
            "eu-central-1",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
        ],
    ),
    route("eu-west-3", EU_MAIN),
    route(
        "il-central-1",
        &[
            "eu-central-1",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-3",
            "il-central-1",
        ],
    ),
];

const APAC_MAIN: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-4",
];
const APAC_WITH_JAKARTA: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
];
/// `apac.` profiles (e.g. `apac.anthropic.claude-sonnet-4-20250514-v1:0`, `apac.amazon.nova-pro-v1:0`;
/// `apac.twelvelabs.marengo-embed-2-7-v1:0` from ap-northeast-2 also reaches ap-southeast-3).
const APAC: &[Route] = &[
    route(
        "ap-east-2",
        &[
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
        ],
    ),
    route("ap-northeast-1", APAC_MAIN),
    route("ap-northeast-2", APAC_WITH_JAKARTA),
    route("ap-northeast-3", APAC_MAIN),
    route("ap-south-1", APAC_MAIN),
    route("ap-south-2", APAC_MAIN),
    route("ap-southeast-1", APAC_MAIN),
    route("ap-southeast-2", APAC_MAIN),
    route("ap-southeast-3", APAC_WITH_JAKARTA),
    route("ap-southeast-4", APAC_MAIN),
    route(
        "ap-southeast-5",
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
        ],
    ),
    route(
        "ap-southeast-7",
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-7",
        ],
    ),
    route(
        "me-central-1",
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "me-central-1",
        ],
    ),
];

const JP_BOTH: &[&str] = &["ap-northeast-1", "ap-northeast-3"];
/// `jp.` profiles (e.g. `jp.anthropic.claude-sonnet-4-5-20250929-v1:0`).
const JP: &[Route] = &[route("ap-northeast-1", JP_BOTH), route("ap-northeast-3", JP_BOTH)];

const AU_BOTH: &[&str] = &["ap-southeast-2", "ap-southeast-4"];
/// `au.` profiles (e.g. `au.anthropic.claude-sonnet-4-5-20250929-v1:0`).
const AU: &[Route] = &[
    route("ap-southeast-2", AU_BOTH),
    route("ap-southeast-4", AU_BOTH),
    route("ap-southeast-6", &["ap-southeast-2", "ap-southeast-4", "ap-southeast-6"]),
];

const CA_BOTH: &[&str] = &["ca-central-1", "ca-west-1"];
/// `ca.` profiles (e.g. `ca.amazon.nova-lite-v1:0`).
const CA: &[Route] = &[route("ca-central-1", CA_BOTH), route("ca-west-1", CA_BOTH)];

/// Source regions of `global.` profiles: the union of the source regions documented for
/// `global.anthropic.claude-sonnet-4-5-20250929-v1:0`, `global.amazon.nova-2-lite-v1:0`,
/// `global.twelvelabs.pegasus-1-2-v1:0` and the other global profiles.
const GLOBAL_SOURCES: &[&str] = &[
    "af-south-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

impl Geography {
    /// Every geography, in a stable order.
    pub const ALL: [Geography; 8] = [
        Geography::Us,
        Geography::UsGov,
        Geography::Eu,
        Geography::Apac,
        Geography::Jp,
        Geography::Au,
        Geography::Ca,
        Geography::Global,
    ];

    /// The inference profile id prefix, without the dot (`us`, `us-gov`, `apac`, `global`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            Geography::Us => "us",
            Geography::UsGov => "us-gov",
            Geography::Eu => "eu",
            Geography::Apac => "apac",
            Geography::Jp => "jp",
            Geography::Au => "au",
            Geography::Ca => "ca",
            Geography::Global => "global",
        }
    }

    /// The geography whose id prefix (without the dot) is `prefix`.
    pub fn from_prefix(prefix: &str) -> Option<Geography> {
        Geography::ALL.into_iter().find(|g| g.prefix() == prefix)
    }

    /// True for `global.` profiles, which route to any commercial region.
    pub fn is_global(self) -> bool {
        self == Geography::Global
    }

    /// The AWS partition the geography's regions belong to.
    pub fn partition(self) -> Partition {
        match self {
            Geography::UsGov => Partition::AwsUsGov,
            _ => Partition::Aws,
        }
    }

    /// The regions from which profiles of this geography can be called.
    pub fn source_regions(self) -> Vec<&'static str> {
        match self.routes() {
            Some(routes) => routes.iter().map(|r| r.source).collect(),
            None => GLOBAL_SOURCES.to_vec(),
        }
    }

    /// Where a request to a profile of this geography made from `source_region` may be routed;
    /// `None` when `source_region` is not a source region of this geography.
    pub fn routing_from(self, source_region: &str) -> Option<Routing> {
        match self.routes() {
            Some(routes) => routes
                .iter()
                .find(|r| r.source == source_region)
                .map(|r| Routing::Regions(r.destinations)),
            None => GLOBAL_SOURCES.contains(&source_region).then_some(Routing::AnyCommercialRegion),
        }
    }

    /// Every region a profile of this geography may route to from any of its source regions,
    /// sorted; empty for [`Geography::Global`] (any commercial region).
    pub fn destination_regions(self) -> Vec<&'static str> {
        let mut regions: Vec<&'static str> = self
            .routes()
            .unwrap_or_default()
            .iter()
            .flat_map(|r| r.destinations.iter().copied())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        regions
    }

    fn routes(self) -> Option<&'static [Route]> {
        match self {
            Geography::Us => Some(US),
            Geography::UsGov => Some(US_GOV),
            Geography::Eu => Some(EU),
            Geography::Apac => Some(APAC),
            Geography::Jp => Some(JP),
            Geography::Au => Some(AU),
            Geography::Ca => Some(CA),
            Geography::Global => None,
        }
    }
}

impl std::fmt::Display for Geography {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_round_trip() {
        for geography in Geography::ALL {
            assert_eq!(Geography::from_prefix(geography.prefix()), Some(geography));
            let json = serde_json::to_string(&geography).expect("serialize");
            assert_eq!(json, format!("\"{}\"", geography.prefix()));
        }
        assert_eq!(Geography::from_prefix("anthropic"), None);
        assert_eq!(Geography::from_prefix("US"), None);
    }

    #[test]
    fn every_source_region_routes_to_itself() {
        for geography in Geography::ALL {
            for source in geography.source_regions() {
                let routing = geography.routing_from(source);
                assert!(routing.is_some(), "{geography} {source} has no route");
                if let Some(Routing::Regions(destinations)) = routing {
                    assert!(destinations.contains(&source), "{geography} {source}");
                    let mut sorted = destinations.to_vec();
                    sorted.sort_unstable();
                    assert_eq!(sorted, destinations, "{geography} {source} sorted");
                } else {
                    assert!(geography.is_global(), "{geography} {source}");
                }
            }
        }
    }

    #[test]
    fn documented_routes() {
        // us.anthropic.claude-sonnet-4-5-20250929-v1:0 from ca-central-1 (inference-profiles-support).
        assert_eq!(
            Geography::Us.routing_from("ca-central-1"),
            Some(Routing::Regions(&["ca-central-1", "us-east-1", "us-east-2", "us-west-2"]))
        );
        // eu.* from eu-west-2 (London) adds London to the six EU destinations.
        assert_eq!(
            Geography::Eu.routing_from("eu-west-2"),
            Some(Routing::Regions(&[
                "eu-central-1",
                "eu-north-1",
                "eu-south-1",
                "eu-south-2",
                "eu-west-1",
                "eu-west-2",
                "eu-west-3"
            ]))
        );
        assert_eq!(
            Geography::Jp.routing_from("ap-northeast-3"),
            Some(Routing::Regions(&["ap-northeast-1", "ap-northeast-3"]))
        );
        assert_eq!(Geography::Global.routing_from("sa-east-1"), Some(Routing::AnyCommercialRegion));
        assert_eq!(Geography::Us.routing_from("eu-west-1"), None);
        assert_eq!(Geography::Global.routing_from("us-gov-west-1"), None);
        assert_eq!(Geography::Global.routing_from("cn-north-1"), None);
    }

    #[test]
    fn destinations_stay_in_the_geography() {
        assert_eq!(
            Geography::Au.destination_regions(),
            ["ap-southeast-2", "ap-southeast-4", "ap-southeast-6"]
        );
        assert_eq!(Geography::UsGov.destination_regions(), ["us-gov-east-1", "us-gov-west-1"]);
        assert!(Geography::Global.destination_regions().is_empty());
        assert_eq!(Geography::UsGov.partition(), Partition::AwsUsGov);
        assert_eq!(Geography::Apac.partition(), Partition::Aws);
    }
}
