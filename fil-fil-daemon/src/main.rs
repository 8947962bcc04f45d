//! The `fil-fil` binary: parses the command line and hands off to `fil_fil::cli`.

fn main() -> std::process::ExitCode {
    fil_fil::cli::main()
}
