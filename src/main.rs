//! Entry point: the CLI natively, the Yew app in the browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::io::Write;
    // OsStrings: a file name need not be UTF-8.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = queuelab::cli::main_with(&args, &mut out)
        .and_then(|()| out.flush().map_err(queuelab::cli::io_failure));
    if let Err(f) = result {
        // Never eprintln!: it panics (exit 101) when stderr is closed or full.
        if !f.message.is_empty() {
            queuelab::cli::warn(&f.message);
        }
        std::process::exit(f.code);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    queuelab::ui::start();
}
