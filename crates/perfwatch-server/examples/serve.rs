//! Serves the dashboard of a store until killed, for manual testing:
//! `cargo run --release -p perfwatch-server --example serve -- sqlite://PATH [127.0.0.1:8080]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: serve STORE_URL [ADDR]");
    let addr = args.next().unwrap_or_else(|| perfwatch_server::DEFAULT_ADDR.to_string());
    let server = perfwatch_server::start(&url, addr.parse().expect("ADDR"), Default::default())
        .unwrap_or_else(|e| panic!("cannot serve {url}: {e}"));
    eprintln!("serving {url} at http://{}/", server.addr());
    server.wait().expect("server");
}
