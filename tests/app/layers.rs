//! Dependencies run one way: each top-level module of `src/` may use only the layers below
//! it. A `use crate::…` that reaches upward fails here, naming the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, top first. A module may use any module of a lower layer; within a layer,
/// modules are peers and do not use each other, except the services, each of which may use
/// those listed after it.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["web", "jobs"],
    &["state"],
    &[
        "gateway",
        "plea",
        "cases",
        "search",
        "mail",
        "intake",
        "admin",
        "lifecycle",
        "second_factor",
        "accounts",
        "directory",
        "backup",
        "notifications",
        "audit",
    ],
    &["store", "auth"],
    &["crypto"],
    &["config"],
    &["domain"],
    &["clock"],
];

/// The services' layer: plea uses cases and mail, nothing uses plea.
const SERVICES: usize = 3;

fn layer_of(module: &str) -> Option<(usize, usize)> {
    LAYERS.iter().enumerate().find_map(|(layer, modules)| {
        modules
            .iter()
            .position(|m| *m == module)
            .map(|position| (layer, position))
    })
}

fn allowed(from: &str, to: &str) -> bool {
    let (Some((from_layer, from_pos)), Some((to_layer, to_pos))) = (layer_of(from), layer_of(to))
    else {
        return false;
    };
    if from_layer == to_layer {
        return from_layer == SERVICES && to_pos > from_pos;
    }
    to_layer > from_layer
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut uses: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a name")
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        // Unit tests may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && name != top {
                uses.entry(top.clone())
                    .or_default()
                    .insert((name, relative.display().to_string()));
            }
        }
    }
    assert!(uses.contains_key("web"), "the sources were read");
    let wrong: Vec<String> = uses
        .iter()
        .flat_map(|(from, targets)| {
            targets
                .iter()
                .filter(|(to, _)| !allowed(from, to))
                .map(move |(to, file)| format!("{from} uses {to} (in src/{file})"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "dependencies that run upward or sideways:\n{}",
        wrong.join("\n")
    );
}
