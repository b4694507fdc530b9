//! `vouch`: prove a container image is what its pipeline built.
//!
//! `main` parses flags, runs one command, and maps the outcome to an exit code; everything
//! else lives in the library crates, reached through `cmd/<stage>.rs`.

mod cli;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let ctx = cli.global.context();
    let result = cmd::run(cli.command, &ctx);
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`vouch … | head`) is not a failure.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            // Errors are printed even with --quiet: they are the result.
            if ctx.verbose > 0 {
                eprintln!("vouch: error: {err:?}");
            } else {
                eprintln!("vouch: error: {err:#}");
            }
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
