//! `configsync keys`: create and rotate key files, report and migrate which key protects each stored item.
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use configsync_envelope::store::Reencrypted;
use configsync_envelope::{ItemId, KeyId, KeyRing, KeyState, Store};

/// Manage encryption keys and the stores they protect.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write a new key file holding one fresh 256-bit key as primary (mode 0600).
    Generate(GenerateArgs),
    /// Add a fresh key and make it primary (or only add it, with --stage); older keys stay readable.
    Rotate(RotateArgs),
    /// Make an existing (staged) key the primary.
    Promote(KeyIdArgs),
    /// Remove an old key, refusing while any item of the given stores still uses it.
    Retire(RetireArgs),
    /// Show which key id protects each item of a store.
    Status(StatusArgs),
    /// Move every item of a store to the primary key. Resumable: rerun after an interruption.
    Reencrypt(StoreArgs),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// The key file to create.
    #[arg(long, value_name = "FILE", env = "CONFIGSYNC_KEYS")]
    keys: PathBuf,
    /// Id of the key (default `key-1`).
    #[arg(long, value_name = "ID", env = "CONFIGSYNC_KEY_ID")]
    id: Option<String>,
    /// Replace an existing key file (its keys are lost: data they protect becomes unreadable).
    #[arg(long, env = "CONFIGSYNC_KEYS_FORCE")]
    force: bool,
}

#[derive(Debug, clap::Args)]
struct RotateArgs {
    /// The key file to rotate in place.
    #[arg(long, value_name = "FILE", env = "CONFIGSYNC_KEYS")]
    keys: PathBuf,
    /// Id of the new key (default `key-N`, one above the highest).
    #[arg(long, value_name = "ID", env = "CONFIGSYNC_KEY_ID")]
    id: Option<String>,
    /// Only add the key; keep the current primary. For several hosts: stage everywhere, then `keys promote`.
    #[arg(long, env = "CONFIGSYNC_KEYS_STAGE")]
    stage: bool,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Exit with status 1 when any item is not under the primary key (for scripts and CI).
    #[arg(long, env = "CONFIGSYNC_KEYS_CHECK")]
    check: bool,
}

#[derive(Debug, clap::Args)]
struct KeyIdArgs {
    /// The key file to change in place.
    #[arg(long, value_name = "FILE", env = "CONFIGSYNC_KEYS")]
    keys: PathBuf,
    /// The key id.
    #[arg(long, value_name = "ID", env = "CONFIGSYNC_KEY_ID")]
    id: String,
}

#[derive(Debug, clap::Args)]
struct RetireArgs {
    #[command(flatten)]
    key: KeyIdArgs,
    /// Stores that must no longer use the key (comma-separated in the environment variable).
    #[arg(
        long = "store",
        value_name = "DIR",
        env = "CONFIGSYNC_STORE",
        value_delimiter = ','
    )]
    stores: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// The key file.
    #[arg(long, value_name = "FILE", env = "CONFIGSYNC_KEYS")]
    keys: PathBuf,
    /// The store directory (`<store>/<namespace>/<name>/<key>.sealed`).
    #[arg(long, value_name = "DIR", env = "CONFIGSYNC_STORE")]
    store: PathBuf,
}

impl KeysArgs {
    /// Run the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            KeysCommand::Generate(args) => generate(args),
            KeysCommand::Rotate(args) => rotate(args),
            KeysCommand::Promote(args) => promote(args),
            KeysCommand::Retire(args) => retire(args),
            KeysCommand::Status(args) => status(args),
            KeysCommand::Reencrypt(args) => reencrypt(args),
        }
    }
}

fn parse_id(id: Option<String>) -> anyhow::Result<Option<KeyId>> {
    Ok(id.map(KeyId::new).transpose()?)
}

fn load(keys: &Path) -> anyhow::Result<KeyRing> {
    KeyRing::load_file(keys).with_context(|| format!("loading key file {}", keys.display()))
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let GenerateArgs { keys, id, force } = args;
    if keys.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it (its keys will be lost)",
            keys.display()
        );
    }
    let ring = KeyRing::generate(parse_id(id)?);
    ring.save_file(&keys)?;
    println!(
        "wrote {} with primary key {}",
        keys.display(),
        ring.primary_id()
    );
    Ok(())
}

fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let RotateArgs { keys, id, stage } = args;
    let mut ring = load(&keys)?;
    if stage {
        let staged = ring.stage(parse_id(id)?)?.clone();
        ring.save_file(&keys)?;
        println!(
            "staged key {staged}; primary is still {}",
            ring.primary_id()
        );
        println!(
            "next: copy {} to every host, then `configsync keys promote --id {staged}`",
            keys.display()
        );
        return Ok(());
    }
    let previous = ring.primary_id().clone();
    ring.rotate(parse_id(id)?)?;
    ring.save_file(&keys)?;
    let readable: Vec<String> = ring.key_ids().map(ToString::to_string).collect();
    println!(
        "primary key is now {} (was {previous}); readable keys: {}",
        ring.primary_id(),
        readable.join(", ")
    );
    println!(
        "next: `configsync keys reencrypt --keys {} --store DIR` for every store",
        keys.display()
    );
    Ok(())
}

fn promote(args: KeyIdArgs) -> anyhow::Result<()> {
    let KeyIdArgs { keys, id } = args;
    let mut ring = load(&keys)?;
    ring.promote(&id)?;
    ring.save_file(&keys)?;
    println!("primary key is now {id}");
    Ok(())
}

fn retire(args: RetireArgs) -> anyhow::Result<()> {
    let RetireArgs {
        key: KeyIdArgs { keys, id },
        stores,
    } = args;
    let mut ring = load(&keys)?;
    for store in &stores {
        let users = Store::new(store)
            .status(&ring)?
            .into_iter()
            .filter(|(_, state)| match state {
                KeyState::Current(k) | KeyState::Stale(k) => *k == id,
                _ => false,
            });
        if let Some((item, _)) = users.into_iter().next() {
            bail!(
                "key {id} still protects {item} in {}; run `configsync keys reencrypt` first",
                store.display()
            );
        }
    }
    ring.retire(&id)?;
    ring.save_file(&keys)?;
    println!(
        "removed key {id}; readable keys: {}",
        ring.key_ids()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn status(args: StatusArgs) -> anyhow::Result<()> {
    let StatusArgs {
        store: StoreArgs { keys, store },
        check,
    } = args;
    let ring = load(&keys)?;
    let items = Store::new(&store).status(&ring)?;
    let (mut current, mut stale, mut unreadable) = (0usize, 0usize, 0usize);
    for (id, state) in &items {
        let (key_id, label) = match state {
            KeyState::Current(k) => (k.as_str(), "current"),
            KeyState::Stale(k) => (k.as_str(), "stale"),
            KeyState::UnknownKey(k) => (k.as_str(), "unknown-key"),
            KeyState::UnknownFormat => ("-", "unknown-format"),
        };
        match state {
            KeyState::Current(_) => current += 1,
            KeyState::Stale(_) => stale += 1,
            _ => unreadable += 1,
        }
        println!("{id}\t{key_id}\t{label}");
    }
    println!(
        "{} items: {current} current (primary {}), {stale} stale, {unreadable} unreadable",
        items.len(),
        ring.primary_id()
    );
    if check && current < items.len() {
        bail!(
            "{} items are not under the primary key",
            items.len() - current
        );
    }
    Ok(())
}

fn reencrypt(args: StoreArgs) -> anyhow::Result<()> {
    let StoreArgs { keys, store } = args;
    let ring = load(&keys)?;
    let store = Store::new(&store);
    let cleaned = store.remove_temp_files()?;
    if cleaned > 0 {
        eprintln!("removed {cleaned} temp files left by an interrupted write");
    }
    let items = store.list()?;
    let mut progress = Progress::new(items.len());
    let (mut moved, mut failed) = (0usize, 0usize);
    for id in &items {
        match store.reencrypt_item(&ring, id) {
            Ok(Reencrypted::Moved { from }) => {
                moved += 1;
                progress.step(id, &format!("{from} -> {}", ring.primary_id()));
            }
            Ok(Reencrypted::AlreadyCurrent) => progress.step(id, "already current"),
            Err(error) => {
                failed += 1;
                progress.fail(id, &error);
            }
        }
    }
    progress.finish();
    println!(
        "{} items: {moved} moved to {}, {failed} failed",
        items.len(),
        ring.primary_id()
    );
    if failed > 0 {
        bail!(
            "{failed} items could not be re-encrypted; they are unchanged (add their keys, then rerun)"
        );
    }
    Ok(())
}

/// Progress on stderr: a redrawn bar on a terminal, one line per item otherwise (logs, CI).
struct Progress {
    total: usize,
    done: usize,
    bar: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            bar: std::io::stderr().is_terminal(),
        }
    }

    fn step(&mut self, id: &ItemId, what: &str) {
        self.done += 1;
        if self.bar {
            let width = 30;
            let filled = (self.done * width).checked_div(self.total).unwrap_or(width);
            let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
            eprint!("\r[{bar}] {}/{}", self.done, self.total);
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("[{}/{}] {id}: {what}", self.done, self.total);
        }
    }

    fn fail(&mut self, id: &ItemId, error: &configsync_envelope::StoreError) {
        if self.bar {
            eprintln!();
        }
        self.step(id, &format!("FAILED: {error}"));
        if self.bar {
            eprintln!("\n{id}: {error}");
        }
    }

    fn finish(&self) {
        if self.bar {
            eprintln!();
        }
    }
}
