//! `entra-proxy-wasm`: build and push the filter's OCI image, convert oauth2-proxy configs.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = entra_proxy_wasm_cli::commands::run(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
