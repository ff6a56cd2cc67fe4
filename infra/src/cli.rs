//! The `quarry-infra` command line: `synth`, `deploy`, `diff`, `destroy`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bootstrap;

/// quarry's stack as code: synthesize the CloudFormation template from quarry.toml, deploy it,
/// show what would change, or delete it.
#[derive(Debug, Parser)]
#[command(name = "quarry-infra", version)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "quarry.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the CloudFormation template (deterministic JSON).
    Synth {
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The bootstrap stack's template (assets bucket, API Gateway logging role) instead.
        #[arg(long)]
        bootstrap: bool,
    },
    /// Upload the function zips, create a change set, show it, ask, execute it with progress,
    /// print the outputs.
    Deploy {
        /// Where to deploy from.
        #[command(flatten)]
        source: Source,
        /// Execute the change set without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show the change set a deploy would execute, then discard it.
    Diff {
        /// Where to deploy from.
        #[command(flatten)]
        source: Source,
    },
    /// Delete the stack (the catalog bucket is emptied; the documents bucket is kept).
    Destroy {
        /// Delete without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Where the code comes from and goes to.
#[derive(Debug, Args)]
pub struct Source {
    /// Cargo's target directory holding lambda/<binary>/bootstrap.zip (default:
    /// $CARGO_TARGET_DIR, else ./target).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// The bootstrap stack holding the assets bucket (created by the first deploy).
    #[arg(long, default_value = bootstrap::DEFAULT_STACK_NAME, value_name = "NAME")]
    pub bootstrap_stack: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("quarry-infra").chain(args.iter().copied()))
    }

    #[test]
    fn synth_writes_to_a_file_from_the_default_config() {
        let cli = parse(&["synth", "--out", "stack.json"]).expect("parses");
        assert_eq!(cli.config, PathBuf::from("quarry.toml"));
        assert!(matches!(
            cli.command,
            Command::Synth { out: Some(ref out), bootstrap: false } if out == &PathBuf::from("stack.json")
        ));
        let cli = parse(&["synth", "--bootstrap", "--config", "other.toml"]).expect("parses");
        assert_eq!(cli.config, PathBuf::from("other.toml"));
        assert!(matches!(cli.command, Command::Synth { out: None, bootstrap: true }));
    }

    #[test]
    fn deploy_and_diff_take_the_target_dir_and_bootstrap_stack() {
        let cli = parse(&["deploy", "--yes", "--target-dir", "/t"]).expect("parses");
        let Command::Deploy { source, yes } = cli.command else { panic!("deploy expected") };
        assert!(yes);
        assert_eq!(source.target_dir, Some(PathBuf::from("/t")));
        assert_eq!(source.bootstrap_stack, "quarry-bootstrap");
        let cli = parse(&["diff", "--bootstrap-stack", "team-bootstrap"]).expect("parses");
        let Command::Diff { source } = cli.command else { panic!("diff expected") };
        assert_eq!(source.bootstrap_stack, "team-bootstrap");
        assert_eq!(source.target_dir, None);
    }

    #[test]
    fn destroy_asks_unless_yes_and_unknown_flags_are_errors() {
        let cli = parse(&["destroy"]).expect("parses");
        assert!(matches!(cli.command, Command::Destroy { yes: false }));
        assert!(matches!(
            parse(&["destroy", "-y"]).expect("parses").command,
            Command::Destroy { yes: true }
        ));
        let err = parse(&["diff", "--yes"]).expect_err("diff never executes");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(parse(&[]).is_err(), "a subcommand is required");
    }
}
