//! `cargo bench -p quarry-bench --bench extract_chunk`: extract + chunk throughput per format over
//! the generated corpus (figure 4a). The release `quarry-bench` binary runs the same benchmarks for
//! the report; this target lets criterion's own command line (filters, baselines) drive them.

use criterion::{criterion_group, criterion_main};
use quarry_bench::extract::benchmarks;

criterion_group!(extract_chunk, benchmarks);
criterion_main!(extract_chunk);
