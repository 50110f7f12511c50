//! An overlay on disk: `overlay.toml` plus `.proto` fragments that mirror the upstream
//! tree (`k8s.io/api/core/v1/nodestatus.proto` with `package k8s.io.api.core.v1;`).

use std::path::{Path, PathBuf};

use crate::error::{Loc, OverlayError, OverlayErrors};
use crate::fragment::Fragment;
use crate::manifest::{Manifest, MANIFEST_FILE};

/// A loaded and parsed vendor overlay (not yet checked against a schema: see [`crate::merge`]).
#[derive(Debug, Clone)]
pub struct Overlay {
    manifest: Manifest,
    dir: PathBuf,
    pub(crate) fragments: Vec<Fragment>,
}

/// Bounds the directory walk (an overlay is a handful of files; a symlink loop is not).
const MAX_DEPTH: usize = 16;

impl Overlay {
    /// Loads the overlay in `dir`: the manifest and every `.proto` file below it.
    /// All problems (manifest, malformed fragments) are reported together.
    pub fn load(dir: &Path) -> Result<Overlay, OverlayErrors> {
        let display_root = display_path(dir);
        let manifest_display = format!("{display_root}/{MANIFEST_FILE}");
        let manifest_text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).map_err(|err| {
            OverlayErrors::one(OverlayError::Io {
                at: Loc::file(manifest_display.clone()),
                message: err.to_string(),
                fix: format!(
                    "an overlay is a directory with an {MANIFEST_FILE} manifest and .proto fragments; check the SCHEMA_OVERLAYS entry"
                ),
            })
        })?;
        let mut errors = Vec::new();
        let manifest =
            Manifest::parse(&manifest_text, &manifest_display).map_err(|e| errors.push(e));
        let mut sources = Vec::new();
        collect_protos(dir, dir, 0, &mut sources, &mut errors, &display_root);
        let sources: Vec<(String, String)> = sources;
        let fragments = parse_fragments(&display_root, &sources, &mut errors);
        OverlayErrors::check(errors)?;
        let manifest = manifest.map_err(|()| OverlayErrors::one(internal("manifest")))?;
        Ok(Overlay {
            manifest,
            dir: dir.to_path_buf(),
            fragments,
        })
    }

    /// Builds an overlay from in-memory sources (tests, tools): `display_root` is how
    /// errors name its directory, `fragments` are (path inside the overlay, source).
    pub fn from_sources(
        display_root: &str,
        manifest: &str,
        fragments: &[(&str, &str)],
    ) -> Result<Overlay, OverlayErrors> {
        let mut errors = Vec::new();
        let manifest = Manifest::parse(manifest, &format!("{display_root}/{MANIFEST_FILE}"))
            .map_err(|e| errors.push(e));
        let sources: Vec<(String, String)> = fragments
            .iter()
            .map(|(path, source)| (path.to_string(), source.to_string()))
            .collect();
        let fragments = parse_fragments(display_root, &sources, &mut errors);
        OverlayErrors::check(errors)?;
        let manifest = manifest.map_err(|()| OverlayErrors::one(internal("manifest")))?;
        Ok(Overlay {
            manifest,
            dir: PathBuf::from(display_root),
            fragments,
        })
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn description(&self) -> &str {
        &self.manifest.description
    }

    /// Upstream Kubernetes versions the overlay was written for.
    pub fn kubernetes(&self) -> &[String] {
        &self.manifest.kubernetes
    }

    /// Metric families declared in the manifest (`[[metric]]`).
    pub fn families(&self) -> &[crate::families::FamilyDecl] {
        &self.manifest.families
    }

    /// A warning when `pinned` is not among the versions the overlay was written for.
    pub fn version_warning(&self, pinned: &str) -> Option<String> {
        self.manifest.version_warning(pinned)
    }
}

fn internal(what: &str) -> OverlayError {
    OverlayError::InvalidSchema {
        message: format!("{what} failed without an error"),
        fix: "report this as a bug".into(),
    }
}

fn parse_fragments(
    display_root: &str,
    sources: &[(String, String)],
    errors: &mut Vec<OverlayError>,
) -> Vec<Fragment> {
    if sources.is_empty() {
        errors.push(OverlayError::NoFragments {
            at: Loc::file(display_root),
        });
    }
    let mut fragments = Vec::new();
    for (relative, source) in sources {
        let display = format!("{display_root}/{relative}");
        match Fragment::parse(&display, relative, source) {
            Ok(fragment) => fragments.push(fragment),
            Err(parse_errors) => errors.extend(parse_errors),
        }
    }
    fragments
}

/// Every `.proto` below `dir` as (path relative to `root` with `/`, text), sorted.
fn collect_protos(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, String)>,
    errors: &mut Vec<OverlayError>,
    display_root: &str,
) {
    let io_error = |path: &Path, err: std::io::Error| OverlayError::Io {
        at: Loc::file(format!("{display_root}/{}", relative(root, path))),
        message: err.to_string(),
        fix: "check the overlay directory's permissions".into(),
    };
    if depth > MAX_DEPTH {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => return errors.push(io_error(dir, err)),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_protos(root, &path, depth + 1, out, errors, display_root);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            match std::fs::read_to_string(&path) {
                Ok(text) => out.push((relative(root, &path), text)),
                Err(err) => errors.push(io_error(&path, err)),
            }
        }
    }
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// How errors name the overlay directory: relative to the working directory (cargo
/// runs build scripts and tests in the package directory) when it is below it.
fn display_path(dir: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| dir.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| dir.to_path_buf());
    let text = shown.display().to_string().replace('\\', "/");
    text.trim_end_matches('/').to_string()
}
