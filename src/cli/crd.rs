//! `configsync crd`: print the ConfigSync CustomResourceDefinition as YAML.
use std::io::Write;

/// Print the ConfigSync CRD (the committed copy is `crds/configsync.dev_configsyncs.yaml`).
#[derive(Debug, clap::Args)]
pub struct CrdArgs {}

impl CrdArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let Self {} = self;
        let yaml = configsync_crds::crd::crd_yaml()?;
        std::io::stdout().lock().write_all(yaml.as_bytes())?;
        Ok(())
    }
}
