//! The `rampart` command line.

mod build_command;
mod check;
mod completions;
mod config;
mod explain_command;
mod fix;
mod fix_command;
mod fmt_command;
mod inputs;
mod inventory_pass;
mod playground_command;
mod policies;
mod render;
mod report;
mod serve_command;
mod stream;
mod test_command;

use clap::{Parser, Subcommand, ValueEnum};

/// Loading manifests allocates and frees many small objects on every core;
/// mimalloc measured about a quarter faster than the system allocator here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::process::ExitCode;

/// Policy as code for Kubernetes: statically checked policies, evaluated on
/// manifests in CI, in an admission webhook, or anywhere WebAssembly runs.
#[derive(Parser, Debug)]
#[command(name = "rampart", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check manifests (files, directories, or `-` for stdin) against policies.
    Check(check::CheckArguments),
    /// Rewrite .rampart files in the canonical layout (`--check`: only list those that differ).
    Fmt(fmt_command::FmtArguments),
    /// Apply the findings' fixes to the manifest files in place (`--dry-run`: print a diff).
    Fix(fix_command::FixArguments),
    /// Print a policy's documentation: severity, controls, parameters, sets, source.
    Explain(explain_command::ExplainArguments),
    /// Print a shell completion script (bash, zsh or fish).
    Completions(completions::CompletionsArguments),
    /// Run the `test` blocks of policy files.
    Test(test_command::TestArguments),
    /// List the standard library's sets and policies.
    List(ListArguments),
    /// Serve the admission webhook (AdmissionReview v1 over HTTPS).
    Serve(serve_command::ServeArguments),
    /// Compile policies into one self-contained WebAssembly module.
    Build(build_command::BuildArguments),
    /// Serve the browser playground: write, test and share policies with nothing installed.
    Playground(playground_command::PlaygroundArguments),
}

#[derive(clap::Args, Debug)]
struct ListArguments {
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// Where colour goes.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Exit codes, as documented in the README.
pub mod exit {
    /// Nothing denied.
    pub const CLEAN: u8 = 0;
    /// At least one deny finding (or a failing test).
    pub const DENIED: u8 = 1;
    /// The run was incomplete: unreadable input, a policy error, bad usage.
    pub const INCOMPLETE: u8 = 2;
}

/// Writing to a closed pipe (`rampart list | head`) ends the process quietly,
/// as it does for every Unix tool, instead of failing on the next print.
/// Not for `serve`: there a client that closes its connection early (or an
/// audit-log reader that exits) would kill the webhook with SIGPIPE, so the
/// server keeps the runtime's default of ignoring it and handles the write
/// error instead.
#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "restoring the default SIGPIPE action is a libc call"
)]
fn restore_broken_pipe_behaviour() {
    // SAFETY: `signal` with SIG_DFL installs no handler and touches no Rust state;
    // it runs in main, once the arguments are parsed and before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_broken_pipe_behaviour() {}

/// Transparent huge pages make the allocator's first touch of each 2 MiB
/// region fault in (and zero) the whole region: on 100,000 manifests that
/// was a fifth of the peak resident memory and a tenth of the CPU profile,
/// for no measurable speed. The process asks the kernel for small pages (and
/// the allocator is built with `no_thp`, so that it does not ask for huge
/// ones on the regions it reserves before `main` runs: 30 -> 28 MiB peak
/// at 20,000 manifests).
#[cfg(target_os = "linux")]
#[allow(unsafe_code, reason = "asking for small pages is a libc call")]
fn prefer_small_pages() {
    // SAFETY: `prctl(PR_SET_THP_DISABLE)` only sets a flag on this process's
    // memory map; it takes no pointers and touches no Rust state.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn prefer_small_pages() {}

fn main() -> ExitCode {
    prefer_small_pages();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            restore_broken_pipe_behaviour();
            let code = if error.use_stderr() {
                exit::INCOMPLETE
            } else {
                exit::CLEAN
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    if !matches!(cli.command, Command::Serve(_)) {
        restore_broken_pipe_behaviour();
    }
    // A panic the subcommands did not turn into an error of their own is a
    // bug, and the run is incomplete: exit 2 as for any unjudged input, never
    // the 101 of an unwinding main that a CI step may not read as failure of
    // the check (the panic hook has printed the message already).
    let outcome = std::panic::catch_unwind(|| match cli.command {
        Command::Check(arguments) => check::run(arguments),
        Command::Fmt(arguments) => fmt_command::run(arguments),
        Command::Fix(arguments) => fix_command::run(arguments),
        Command::Explain(arguments) => explain_command::run(arguments),
        Command::Completions(arguments) => completions::run(arguments),
        Command::Test(arguments) => test_command::run(arguments),
        Command::List(arguments) => policies::list(arguments.json),
        Command::Serve(arguments) => serve_command::run(arguments),
        Command::Build(arguments) => build_command::run(arguments),
        Command::Playground(arguments) => playground_command::run(arguments),
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            use std::io::Write;
            // stderr may be closed: nothing more to do then.
            let _ = writeln!(
                std::io::stderr(),
                "rampart: internal error (a bug; please report it): the run is incomplete"
            );
            ExitCode::from(exit::INCOMPLETE)
        }
    }
}

/// Whether to colour output written to a stream that is (or is not) a terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    }
}

/// Paths given on the command line, as written.
pub type Paths = Vec<PathBuf>;
