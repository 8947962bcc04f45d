//! The `fil-fil` binary: parses the command line and hands off to `fil_fil::cli`.

/// mimalloc instead of glibc malloc: the devnet (and the fvm HAMT/AMT code it
/// drives) makes millions of short-lived small allocations per epoch, where glibc
/// spent ~30 % of prefill CPU; mimalloc cut prefill CPU by 36 % with the same
/// chain bytes (docs/benchmarks.md, Devnet). The daemon's blocks live in the DAG
/// store's own arena segments, so its memory is not shaped by the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    fil_fil::cli::main()
}
