//! `make bench`: runs the comparison, prints the table and writes BENCHMARKS.md.

use entra_proxy_bench::{report, run, settings::Settings};

fn main() {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let results = match run::run(&settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: could not run: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", report::text(&results));
    let existing = std::fs::read_to_string(&settings.out).unwrap_or_default();
    let updated = report::splice(&existing, &report::markdown(&results));
    match std::fs::write(&settings.out, updated) {
        Ok(()) => println!("\nresults written to {}", settings.out.display()),
        Err(e) => {
            eprintln!("bench: cannot write {}: {e}", settings.out.display());
            std::process::exit(1);
        }
    }
}
