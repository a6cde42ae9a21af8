//! `docs/architecture.svg` is well-formed XML, names every component the README's architecture describes, and
//! the README shows it.
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect(path)
}

#[test]
fn the_architecture_svg_parses_and_names_every_component() {
    let text = read("docs/architecture.svg");
    let svg = roxmltree::Document::parse(&text).expect("docs/architecture.svg is well-formed XML");
    let root = svg.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(
        root.attribute("viewBox").is_some(),
        "scales without clipping"
    );
    let words: String = svg
        .descendants()
        .filter_map(|node| node.text())
        .collect::<Vec<_>>()
        .join(" ");
    for component in [
        "Kubernetes API server",
        "embedded",
        "configsync operator",
        "watches",
        "reverse index",
        "hash",
        "server-side apply patch",
        "ConfigSync",
        "injection webhook",
        "configsync sidecar",
        "..data symlink swap",
        "signal / HTTP / command",
        "KMS v2",
        "AES-256-GCM",
    ] {
        assert!(words.contains(component), "the drawing lacks {component:?}");
    }
}

#[test]
fn the_readme_shows_the_architecture_svg() {
    let readme = read("README.md");
    assert!(
        readme.contains("](docs/architecture.svg)"),
        "README.md does not embed docs/architecture.svg"
    );
}

/// Every relative link `](path)` of the README, the changelog and docs/*.md names a file that exists (docs/ files
/// were renamed once; links must follow).
#[test]
fn relative_links_in_the_docs_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    for entry in std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "md") {
            pages.push(entry.path());
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("page");
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap_or("");
            if target.is_empty() || target.contains("://") {
                continue;
            }
            let base = page.parent().expect("parent");
            if !base.join(target).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:?}");
    let readme = read("README.md");
    for guide in ["docs/install.md", "docs/troubleshooting.md", "CHANGELOG.md"] {
        assert!(
            readme.contains(&format!("]({guide})")),
            "README.md does not link {guide}"
        );
    }
}
