//! The demo app behind Envoy: shows who the filter says is signed in.
//!
//! Usage: `demo-upstream [--port N] [--port-file PATH]` (port 0, the default, picks a free one;
//! the port file receives the bound port once the server is listening).

use entra_proxy_tests::upstream::Upstream;

fn main() {
    let mut port: u16 = 0;
    let mut port_file: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(v)) => {
                port = v
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad port {v:?}")))
            }
            ("--port-file", Some(v)) => port_file = Some(v),
            _ => usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let upstream = Upstream::start_on(port).unwrap_or_else(|e| {
        eprintln!("demo-upstream: cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1)
    });
    if let Some(path) = port_file {
        // Write then rename, so a reader polling the file never sees a partial number.
        let tmp = format!("{path}.tmp");
        if let Err(e) = std::fs::write(&tmp, upstream.port().to_string())
            .and_then(|_| std::fs::rename(&tmp, &path))
        {
            eprintln!("demo-upstream: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
    println!("demo-upstream listening on {}", upstream.url());
    loop {
        std::thread::park();
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("demo-upstream: {problem}\nusage: demo-upstream [--port N] [--port-file PATH]");
    std::process::exit(2)
}
