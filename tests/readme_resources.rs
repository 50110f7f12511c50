//! README's table of served resources follows the registry: one row per resource
//! with metrics (families, opt-in families, whether KSM serves it by default).
//! After adding a resource, `UPDATE_GOLDEN=1 cargo test --test readme_resources`
//! rewrites the table between its markers.

use std::path::Path;

use kube_state_exporter::config::DEFAULT_RESOURCES;
use kube_state_exporter::metrics::resources;

const BEGIN: &str = "<!-- resources:begin (tests/readme_resources.rs) -->\n";
const END: &str = "<!-- resources:end -->";

fn table() -> String {
    let mut rows =
        String::from("| resource | default | families | of which opt-in |\n|---|---|---|---|\n");
    let (mut total, mut defaults) = (0, 0);
    for resource in resources::all() {
        let families = resource.families();
        let opt_in = families.iter().filter(|f| f.opt_in).count();
        let default = DEFAULT_RESOURCES.contains(&resource.plural());
        total += families.len();
        defaults += usize::from(default);
        rows.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            resource.plural(),
            if default { "yes" } else { "opt-in" },
            families.len(),
            opt_in
        ));
    }
    rows.push_str(&format!(
        "\n{} resources ({} served by default), {} families.\n",
        resources::all().len(),
        defaults,
        total
    ));
    rows
}

#[test]
fn readme_lists_every_served_resource_with_its_family_count() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme
        .find(BEGIN)
        .expect("README has the resources:begin marker")
        + BEGIN.len();
    let end = readme[start..]
        .find(END)
        .expect("README has the resources:end marker")
        + start;
    let want = table();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let updated = format!("{}{}{}", &readme[..start], want, &readme[end..]);
        std::fs::write(&path, updated).expect("README.md written");
        return;
    }
    assert_eq!(
        &readme[start..end],
        want,
        "README's resource table is out of date: UPDATE_GOLDEN=1 cargo test --test readme_resources"
    );
}
