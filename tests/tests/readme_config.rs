//! The README's configuration reference must list exactly the options the filter reads.

use entra_proxy_wasm::config::Config;

fn readme_options() -> Vec<String> {
    let readme =
        std::fs::read_to_string(entra_proxy_tests::paths::workspace_root().join("README.md"))
            .unwrap();
    let section = readme
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section");
    let table = section.split("\n#").next().unwrap();
    let mut names = Vec::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = line.trim_start_matches('|').split('|').next().unwrap();
        for piece in first_cell.split('`').skip(1).step_by(2) {
            names.push(piece.to_string());
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_option_the_filter_reads_is_documented_and_nothing_else() {
    let documented = readme_options();
    let read: Vec<String> = Config::option_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let missing: Vec<&String> = read.iter().filter(|o| !documented.contains(o)).collect();
    let stale: Vec<&String> = documented.iter().filter(|o| !read.contains(o)).collect();
    assert!(
        missing.is_empty(),
        "options the filter reads but README.md does not document: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "options README.md documents but the filter does not read: {stale:?}"
    );
}
