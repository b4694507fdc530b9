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
    quiet_on_closed_pipe();
    let cli = cli::Cli::parse();
    let ctx = cli.global.context();
    let result = cmd::run(cli.command, &ctx);
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`vouch … | head`) is not a failure.
            // serde_json wraps the io::Error of a writer in its own error type.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                    == Some(std::io::ErrorKind::BrokenPipe)
                    || c.downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind)
                        == Some(std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            // Errors are printed even with --quiet: they are the result.
            if ctx.verbose > 0 {
                eprintln!("vouch: error: {err:?}");
            } else {
                eprintln!("vouch: error: {}", error_chain(&err));
            }
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}

/// The error and its causes, `outer: inner: root`, each said once: many errors embed their
/// source's message in their own (`cannot read {path}: {source}`) and also return it as
/// `source()`, so `{:#}` would print the root cause twice (`… (os error 2): … (os error 2)`).
fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(text.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// `vouch … | head` must stop quietly with exit 0, as Unix tools do, not panic. Rust ignores
/// SIGPIPE, so a write to a closed pipe is an `EPIPE` error: `?`-propagated ones end in the
/// `BrokenPipe` arm of `main`, and `println!`/`eprintln!` (used for plain output all over
/// the commands) panic with "failed printing to stdout: Broken pipe". The hook turns exactly
/// that panic into a silent exit 0; every other panic keeps the default report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
