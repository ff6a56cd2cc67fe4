//! quarry's benchmarks, side by side with LiteLLM's proxy: gateway overhead and memory under load,
//! start-up, ingestion throughput, binary sizes and vector queries — each figure measured into a
//! JSON file and rendered into `docs/PERFORMANCE.md` by [`report`].

pub mod corpus;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod http;
pub mod ingest;
pub mod load;
pub mod machine;
pub mod peers;
pub mod process;
pub mod report;
pub mod setup;
pub mod sizes;
pub mod startup;
pub mod vector;
