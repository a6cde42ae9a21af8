//! What a release is made of: the version both binaries print, `configsync-sidecar install` (exec mode's init
//! container copies the binary without `cp`), the linkage that copy needs in the app's image, the Containerfile,
//! and pinned images everywhere (no `:latest`).
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const SIDECAR: &str = env!("CARGO_BIN_EXE_configsync-sidecar");
const CONFIGSYNC: &str = env!("CARGO_BIN_EXE_configsync");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn stdout_of(command: &mut Command) -> String {
    let out = command.output().expect("run");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn both_binaries_print_the_workspace_version_and_the_commit() {
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let commit = std::env::var("CONFIGSYNC_GIT_COMMIT")
        .ok()
        .or(head)
        .unwrap_or_else(|| "unknown".to_owned());
    for (binary, name) in [(CONFIGSYNC, "configsync"), (SIDECAR, "configsync-sidecar")] {
        let printed = stdout_of(Command::new(binary).arg("--version"));
        assert_eq!(
            printed.trim(),
            format!("{name} {VERSION} (commit {commit})")
        );
    }
    assert_ne!(VERSION, "0.0.0");
    let changelog = std::fs::read_to_string(repo("CHANGELOG.md")).expect("CHANGELOG.md");
    assert!(
        changelog.contains(&format!("## [{VERSION}]")),
        "CHANGELOG.md has no section for {VERSION}"
    );
}

#[test]
fn install_copies_the_binary_atomically_and_executable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..2 {
        let out = stdout_of(Command::new(SIDECAR).arg("install").arg(dir.path()));
        let target = dir.path().join("configsync");
        assert_eq!(out.trim(), format!("installed {}", target.display()));
        assert_eq!(
            std::fs::read(&target).expect("copy"),
            std::fs::read(SIDECAR).expect("binary"),
            "the copy differs from the binary"
        );
        let mode = std::fs::metadata(&target)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    // The second run replaced the first and left no temporary file behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["configsync"]);
    // The copy runs, as exec mode runs it: `/configsync/bin/configsync sidecar exec -- app`.
    let copied = stdout_of(Command::new(dir.path().join("configsync")).arg("--version"));
    assert!(copied.starts_with("configsync-sidecar "), "{copied}");
    // The full binary installs itself the same way, under another name when asked.
    stdout_of(
        Command::new(CONFIGSYNC)
            .args(["install", "--name", "cs-full"])
            .arg(dir.path()),
    );
    assert!(dir.path().join("cs-full").is_file());
}

#[test]
fn install_into_a_missing_directory_fails_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing");
    let out = Command::new(SIDECAR)
        .arg("install")
        .arg(&missing)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("{}", missing.join("configsync").display())),
        "{stderr}"
    );
}

/// Exec mode copies `configsync-sidecar` into the app's image, so it must run there. The binary links glibc
/// dynamically (no musl target is installed here); docs/install.md states the constraint this checks: glibc
/// 2.34 or later with libgcc_s, nothing else.
#[test]
fn the_copied_sidecar_needs_only_glibc_2_34_and_libgcc() {
    let dynamic = stdout_of(Command::new("readelf").args(["--dynamic", SIDECAR]));
    let mut needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| line.split('[').nth(1)?.split(']').next())
        .collect();
    needed.sort_unstable();
    for library in &needed {
        assert!(
            [
                "ld-linux-x86-64.so.2",
                "libc.so.6",
                "libgcc_s.so.1",
                "libm.so.6"
            ]
            .contains(library),
            "configsync-sidecar needs {library}: exec mode's copy would not run in glibc-only app images \
             (update docs/install.md, Exec mode, if intended); needs {needed:?}"
        );
    }
    let versions = stdout_of(Command::new("readelf").args(["--version-info", SIDECAR]));
    let newest = versions
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let (major, minor) = version.split_once('.')?;
            Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
        })
        .max()
        .expect("GLIBC_ symbol versions");
    assert!(
        newest <= (2, 34),
        "configsync-sidecar needs glibc {newest:?}; docs/install.md promises 2.34"
    );
}

/// Every text file of the repository, outside `target/` and `.git`.
fn repository_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            repository_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

#[test]
fn no_image_is_pinned_to_latest() {
    // Kubernetes' own rule (imagePullPolicy Always for `:latest`), which the embedded server implements.
    let about_kubernetes = [
        "platform/cluster/apimachinery/src/validation/pod_defaults.rs",
        "platform/cluster/apimachinery/src/validation/tests/defaults.rs",
        "tests/packaging.rs",
        // The chart's schema refuses a sidecar image ending in `:latest`.
        "charts/configsync/values.schema.json",
    ];
    let mut files = Vec::new();
    repository_files(&repo(""), &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|file| {
            !about_kubernetes
                .iter()
                .any(|allowed| file.ends_with(allowed))
        })
        .filter(|file| std::fs::read_to_string(file).is_ok_and(|text| text.contains(":latest")))
        .map(|file| file.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "`:latest` in {offenders:?}");
    let image = format!("ghcr.io/configsync/configsync:{VERSION}");
    assert_eq!(configsync_operator::inject::DEFAULT_IMAGE, image);
    for file in [
        "deploy/operator.yaml",
        "kustomize/with-webhook/kustomization.yaml",
        "kustomize/without-webhook/kustomization.yaml",
        "kustomize/webhook-cert-auto/kustomization.yaml",
    ] {
        let text = std::fs::read_to_string(repo(file)).expect(file);
        assert!(
            text.contains(&image) || text.contains(&format!("newTag: \"{VERSION}\"")),
            "{file} does not name {image}"
        );
    }
    let chart = std::fs::read_to_string(repo("charts/configsync/Chart.yaml")).expect("Chart.yaml");
    assert!(
        chart.contains(&format!("appVersion: \"{VERSION}\"")),
        "Chart.yaml appVersion"
    );
}

/// hack/build-image runs the `# build-step:` lines; each RUN of the Containerfile's build stage must be the
/// step just above it, so the script builds what the image would.
#[test]
fn the_containerfile_build_stage_runs_the_scripted_steps() {
    let containerfile = std::fs::read_to_string(repo("Containerfile")).expect("Containerfile");
    let lines: Vec<&str> = containerfile.lines().collect();
    let runs: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("RUN "))
        .collect();
    assert!(!runs.is_empty());
    for i in runs {
        let step = lines[i - 1].strip_prefix("# build-step: ");
        assert_eq!(step, lines[i].strip_prefix("RUN "), "line {}", i + 1);
    }
    for needle in [
        "--profile dist --bin configsync --bin configsync-sidecar",
        "-t /out/usr/local/bin",
        "COPY --from=build /out/usr/local/bin/ /usr/local/bin/",
        "USER 65532:65532",
    ] {
        assert!(
            containerfile.contains(needle),
            "Containerfile lacks {needle}"
        );
    }
}
