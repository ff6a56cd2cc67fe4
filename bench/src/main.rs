//! `quarry-bench`: runs quarry's benchmarks and writes `docs/PERFORMANCE.md`. `bench/run` builds
//! what it needs (release binaries, arm64 zips, LiteLLM's venv, oha) and runs `quarry-bench all`;
//! each figure can also be run alone, then `report` renders whatever results are there.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use quarry_bench::error::{BenchError, Result};
use quarry_bench::machine::Machine;
use quarry_bench::report::{self, Figures};
use quarry_bench::setup::Setup;
use quarry_bench::{extract, gateway, ingest, sizes, startup, vector};

/// The command the report names as its generator.
const COMMAND: &str = "bench/run";

#[derive(Debug, Parser)]
#[command(name = "quarry-bench", about = "quarry's benchmarks against LiteLLM's proxy")]
struct Args {
    #[command(subcommand)]
    figure: Figure,
    /// The repository root (holds quarry.toml, docs/ and README.md).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Cargo's target directory, whose release/ and lambda/ hold what is measured.
    #[arg(long, env = "CARGO_TARGET_DIR")]
    target_dir: Option<PathBuf>,
    /// The venv holding LiteLLM's proxy (`bench/run` makes it) [default:
    /// ~/.cache/quarry-bench/litellm-venv].
    #[arg(long, env = "QUARRY_BENCH_VENV")]
    venv: Option<PathBuf>,
    /// The oha binary.
    #[arg(long, default_value = "oha")]
    oha: PathBuf,
    /// Seconds each load run of figure 1 lasts.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Start-ups of each quarry binary in figure 2.
    #[arg(long, default_value_t = 10)]
    startup_runs: usize,
    /// Start-ups of LiteLLM's proxy in figure 2 (each takes seconds).
    #[arg(long, default_value_t = 3)]
    litellm_startup_runs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
enum Figure {
    /// Every figure, then the report.
    All,
    /// Figures 1 and 3: gateway overhead and memory under load.
    Gateway,
    /// Figure 2: start-up to the first answered request.
    Startup,
    /// Figure 4a: extract + chunk throughput (criterion).
    Extract,
    /// Figure 4b: documents/s through the ingest pipeline.
    Ingest,
    /// Figure 5: the functions' arm64 zips.
    Sizes,
    /// Figure 6: SQLite vector store queries.
    Vector,
    /// Renders docs/PERFORMANCE.md (and the README's headline) from the results there are.
    Report,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quarry-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let root = std::path::absolute(&args.root).map_err(BenchError::at("resolving", &args.root))?;
    let target_dir = args.target_dir.clone().unwrap_or_else(|| root.join("target"));
    let target_dir =
        std::path::absolute(&target_dir).map_err(BenchError::at("resolving", &target_dir))?;
    let home = target_dir.join("quarry-bench");
    let venv = args.venv.clone().unwrap_or_else(default_venv);
    let setup = Setup {
        root,
        results: home.join("results"),
        work: home.join("work"),
        oha: args.oha.clone(),
        python: venv.join("bin").join("python"),
        duration: Duration::from_secs(args.seconds),
        target_dir,
    };
    let all = args.figure == Figure::All;
    if args.figure != Figure::Report {
        setup.save("machine", &Machine::detect())?;
    }
    if all || args.figure == Figure::Extract {
        let output = setup.scratch("criterion")?;
        setup.save("extract", &extract::run(&output)?)?;
    }
    if all || args.figure == Figure::Vector {
        let dir = setup.scratch("vector")?;
        setup.save("vector", &vector::run(&dir)?)?;
    }
    if all || args.figure == Figure::Ingest {
        setup.save("ingest", &ingest::run(&setup)?)?;
    }
    if all || args.figure == Figure::Sizes {
        let log = setup.target_dir.join("quarry-bench").join("zip-build.log");
        setup.save("sizes", &sizes::run(&setup.target_dir, &log, &venv)?)?;
    }
    if all || args.figure == Figure::Startup {
        let results = startup::run(&setup, args.startup_runs, args.litellm_startup_runs)?;
        setup.save("startup", &results)?;
    }
    if all || args.figure == Figure::Gateway {
        setup.save("gateway", &gateway::run(&setup)?)?;
    }
    if all || args.figure == Figure::Report {
        write_report(&setup)?;
    } else {
        eprintln!("results in {}; `quarry-bench report` renders them", setup.results.display());
    }
    Ok(())
}

/// `~/.cache/quarry-bench/litellm-venv`, where `bench/run` makes LiteLLM's venv by default.
fn default_venv() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("quarry-bench").join("litellm-venv")
}

fn write_report(setup: &Setup) -> Result<()> {
    let figures = Figures {
        machine: setup.load("machine")?,
        gateway: setup.load("gateway")?,
        startup: setup.load("startup")?,
        extract: setup.load("extract")?,
        ingest: setup.load("ingest")?,
        sizes: setup.load("sizes")?,
        vector: setup.load("vector")?,
    };
    let docs = setup.root.join("docs");
    std::fs::create_dir_all(&docs).map_err(BenchError::at("creating", &docs))?;
    let path = docs.join("PERFORMANCE.md");
    std::fs::write(&path, report::render(&figures, COMMAND))
        .map_err(BenchError::at("writing", &path))?;
    eprintln!("wrote {}", path.display());
    update_readme(&setup.root.join("README.md"), &figures)
}

/// Rewrites the README's headline block, if it has the markers.
fn update_readme(path: &Path, figures: &Figures) -> Result<()> {
    let readme = std::fs::read_to_string(path).map_err(BenchError::at("reading", path))?;
    let mut block: String =
        report::headline(figures).iter().map(|line| format!("- {line}\n")).collect();
    if let Some(machine) = &figures.machine {
        block.push_str(&format!(
            "\nMeasured on {} ({} cores, {:.0} GiB), {}.\n",
            machine.cpu,
            machine.logical_cores,
            machine.memory_gib,
            machine.date.get(..10).unwrap_or(&machine.date)
        ));
    }
    match report::replace_readme_block(&readme, &block) {
        Some(updated) => {
            std::fs::write(path, updated).map_err(BenchError::at("writing", path))?;
            eprintln!("updated the headline in {}", path.display());
        }
        None => eprintln!("{} has no bench:headline markers; left as it is", path.display()),
    }
    Ok(())
}
