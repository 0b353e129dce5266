use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    stateless_lint::install_quiet_panic_hook();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = std::panic::catch_unwind(|| {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        stateless_lint::cli::run(args, &mut out, &mut err)
    })
    .unwrap_or_else(|payload| {
        eprintln!(
            "error: internal error (please report it): {}",
            stateless_lint::panic_message(&payload)
        );
        2
    });
    std::process::exit(code);
}
