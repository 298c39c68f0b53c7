//! The `monsoon` command: one subcommand per file, dispatched from here.
//!
//! Every failure prints exactly one line, `error: …`, on stderr and exits
//! with status 1; usage errors (from clap) exit with status 2.

mod announce;
mod create;
mod daemon;
mod dht;
mod download;
mod fd_limit;
mod info;
mod limits;
mod progress;
mod remote;
mod seed;
mod serve;
mod torrent_file;
mod units;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// monsoon: a fast BitTorrent client.
#[derive(Debug, Parser)]
#[command(name = "monsoon", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a .torrent file or a magnet link describes.
    Info(info::InfoArgs),
    /// Make a .torrent file from a file or a folder.
    Create(create::CreateArgs),
    /// Download a torrent (resumes what is already on disk).
    Download(download::DownloadArgs),
    /// Seed a torrent whose data is on disk, until Ctrl-C or a limit.
    Seed(seed::SeedCmdArgs),
    /// Announce once to every tracker and show what each one answered.
    Announce(announce::AnnounceArgs),
    /// Run the long-lived service: every torrent of the state directory,
    /// an HTTP API and Transmission RPC.
    Daemon(daemon::DaemonArgs),
    /// Add a .torrent (or a magnet link) to a running daemon.
    Add(remote::AddArgs),
    /// List the daemon's torrents.
    List(remote::ListArgs),
    /// Pause one of the daemon's torrents.
    Pause(remote::IdArgs),
    /// Resume one of the daemon's torrents.
    Resume(remote::IdArgs),
    /// Remove one of the daemon's torrents (and its data with --delete).
    Rm(remote::RmArgs),
    /// Show the daemon's session: torrents, rates, limits, folders.
    Status(remote::StatusArgs),
    /// Run a DHT node: join, look up an info-hash, show the routing table.
    Dht(dht::DhtArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before anything opens files or sockets.
    let fd_limit = fd_limit::raise();
    let result = match cli.command {
        Command::Info(args) => info::run(args),
        Command::Create(args) => create::run(args),
        Command::Download(args) => download::run(args, fd_limit).await,
        Command::Seed(args) => seed::run(args, fd_limit).await,
        Command::Announce(args) => announce::run(args).await,
        Command::Daemon(args) => daemon::run(args, fd_limit).await,
        Command::Add(args) => remote::add(args).await,
        Command::List(args) => remote::list(args).await,
        Command::Pause(args) => remote::pause(args).await,
        Command::Resume(args) => remote::resume(args).await,
        Command::Rm(args) => remote::rm(args).await,
        Command::Status(args) => remote::status(args).await,
        Command::Dht(args) => dht::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, whatever the error holds.
            let msg = format!("{err:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
