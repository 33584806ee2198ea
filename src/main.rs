//! Entry point: the CLI natively, the Yew app in the browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(f) = queuelab::cli::main_with(&args, &mut out) {
        eprintln!("queuelab: {}", f.message);
        std::process::exit(f.code);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    queuelab::ui::start();
}
