//! Compiling the upstream proto tree into a `FileDescriptorSet`.

use std::path::{Path, PathBuf};

use prost_types::{DescriptorProto, FileDescriptorSet};

use crate::{Pin, SchemaError};

/// Where the upstream tree lives and how its names are laid out.
#[derive(Debug, Clone)]
pub struct UpstreamTree {
    pub root: PathBuf,
    /// Set when the tree had a package prefix stripped (`k8s.io`); loading puts it back.
    pub stripped_prefix: Option<String>,
}

impl UpstreamTree {
    /// A tree in the registry package's layout (prefix stripped as the pin says).
    pub fn from_pin(package_dir: &Path, pin: &Pin) -> UpstreamTree {
        UpstreamTree {
            root: package_dir.join(&pin.source.root),
            stripped_prefix: pin.source.stripped_prefix.clone(),
        }
    }

    /// A distribution's own full proto tree (`UPSTREAM_PROTO_DIR`), which may use the
    /// real `k8s.io/...` layout or the stripped one; detected from the directory.
    pub fn from_dir(dir: &Path, pin: &Pin) -> UpstreamTree {
        match &pin.source.stripped_prefix {
            Some(prefix) if dir.join(prefix).is_dir() => UpstreamTree {
                root: dir.to_path_buf(),
                stripped_prefix: None,
            },
            other => UpstreamTree {
                root: dir.to_path_buf(),
                stripped_prefix: other.clone(),
            },
        }
    }
}

/// Compiles the pinned files (and their imports) and returns descriptors named as
/// upstream names them: files `k8s.io/api/core/v1/generated.proto`, packages
/// `k8s.io.api.core.v1`.
pub fn load_upstream(tree: &UpstreamTree, pin: &Pin) -> Result<FileDescriptorSet, SchemaError> {
    if !tree.root.is_dir() {
        return Err(SchemaError::UpstreamMissing {
            path: tree.root.display().to_string(),
        });
    }
    let mut compiler =
        protox::Compiler::new([&tree.root]).map_err(|err| SchemaError::Upstream {
            message: err.to_string(),
        })?;
    compiler.include_imports(true).include_source_info(false);
    for file in &pin.source.files {
        let name = match tree.stripped_prefix {
            Some(_) => file.clone(),
            None => match &pin.source.stripped_prefix {
                Some(prefix) => format!("{prefix}/{file}"),
                None => file.clone(),
            },
        };
        compiler
            .open_file(&name)
            .map_err(|err| SchemaError::Upstream {
                message: format!("{name}: {err}"),
            })?;
    }
    let mut fds = compiler.file_descriptor_set();
    if let Some(prefix) = &tree.stripped_prefix {
        restore_prefix(&mut fds, prefix);
    }
    Ok(fds)
}

/// Puts back a package prefix the registry package removed, in file names, imports,
/// packages and every type reference.
fn restore_prefix(fds: &mut FileDescriptorSet, prefix: &str) {
    // The prefix is a directory name too: `k8s.io/api/core/v1/generated.proto`.
    let path_prefix = prefix;
    for file in &mut fds.file {
        if let Some(name) = &mut file.name {
            *name = format!("{path_prefix}/{name}");
        }
        for dep in &mut file.dependency {
            *dep = format!("{path_prefix}/{dep}");
        }
        if let Some(package) = &mut file.package {
            *package = format!("{prefix}.{package}");
        }
        for message in &mut file.message_type {
            restore_prefix_in_message(message, prefix);
        }
    }
}

fn restore_prefix_in_message(message: &mut DescriptorProto, prefix: &str) {
    for field in &mut message.field {
        if let Some(type_name) = &mut field.type_name {
            if let Some(rest) = type_name.strip_prefix('.') {
                *type_name = format!(".{prefix}.{rest}");
            }
        }
    }
    for nested in &mut message.nested_type {
        restore_prefix_in_message(nested, prefix);
    }
}
