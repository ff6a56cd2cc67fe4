//! `quarry-infra`: `synth`, `deploy`, `diff`, `destroy` for quarry's stack (see `--help`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use quarry::config::QuarryConfig;
use quarry_infra::cli::{Cli, Command};
use quarry_infra::deploy::{Clients, Mode, Terminal};
use quarry_infra::{assets, bootstrap, deploy, stack};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Synth { out, bootstrap: true } = &cli.command {
        let text = bootstrap::template().and_then(|t| t.render()).map_err(|e| e.to_string())?;
        return write_template(out.as_deref(), &text);
    }
    let config = QuarryConfig::from_path(&cli.config).map_err(|e| e.to_string())?;
    let synthesis = stack::synthesize(&config).map_err(|e| e.to_string())?;
    for warning in &synthesis.warnings {
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
    let text = synthesis.template.render().map_err(|e| e.to_string())?;

    let stdout = std::io::stdout();
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut out = stdout.lock();
    let mut input = stdin.lock();
    let mut term =
        Terminal { out: &mut out, input: if interactive { Some(&mut input) } else { None } };
    match cli.command {
        Command::Synth { out, .. } => write_template(out.as_deref(), &text),
        Command::Deploy { source, yes } => {
            let dir = assets::target_dir(source.target_dir, std::env::var("CARGO_TARGET_DIR").ok());
            let zips = assets::discover(&dir).map_err(|e| e.to_string())?;
            let clients = Clients::new(&config.stack.region).await;
            deploy::deploy(
                &clients,
                &config,
                &text,
                &zips,
                &source.bootstrap_stack,
                Mode::Deploy { yes },
                &mut term,
            )
            .await
            .map_err(|e| e.to_string())
        }
        Command::Diff { source } => {
            let dir = assets::target_dir(source.target_dir, std::env::var("CARGO_TARGET_DIR").ok());
            let zips = assets::discover(&dir).map_err(|e| e.to_string())?;
            let clients = Clients::new(&config.stack.region).await;
            deploy::deploy(
                &clients,
                &config,
                &text,
                &zips,
                &source.bootstrap_stack,
                Mode::Diff,
                &mut term,
            )
            .await
            .map_err(|e| e.to_string())
        }
        Command::Destroy { yes } => {
            let clients = Clients::new(&config.stack.region).await;
            deploy::destroy(&clients, &config.stack.name, yes, &mut term)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// Writes the template to `out`, or to standard output.
fn write_template(out: Option<&std::path::Path>, text: &str) -> Result<(), String> {
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => std::io::stdout().write_all(text.as_bytes()).map_err(|e| e.to_string()),
    }
}
