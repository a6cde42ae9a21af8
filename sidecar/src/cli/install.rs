//! `install DIR`: copy this very binary into DIR, for exec mode's init container, which has no `cp` or shell
//! to rely on (the app's image may be distroless, and the configsync image ships only its two binaries).
//!
//! The copy is atomic: written to a temporary file in DIR, made executable (0755), flushed to disk, then renamed
//! over `DIR/NAME`, so the app container never sees a half-written binary, and a second run replaces the first.
use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Copy this binary into a directory shared with the app container (exec mode's init container).
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The directory to copy into (an emptyDir shared with the app container); it must exist.
    pub dir: PathBuf,
    /// The file name of the copy.
    #[arg(long, default_value = "configsync")]
    pub name: String,
}

impl InstallArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let source = std::env::current_exe().context("finding this binary (/proc/self/exe)")?;
        let target = self.dir.join(&self.name);
        install(&source, &self.dir, &target)
            .with_context(|| format!("installing {} as {}", source.display(), target.display()))?;
        println!("installed {}", target.display());
        Ok(())
    }
}

fn install(source: &Path, dir: &Path, target: &Path) -> io::Result<()> {
    let mut input = File::open(source)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".configsync-install-")
        .tempfile_in(dir)?;
    io::copy(&mut input, temp.as_file_mut())?;
    temp.as_file_mut().flush()?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(0o755))?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|error| error.error)?;
    File::open(dir)?.sync_all()
}
