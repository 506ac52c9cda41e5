fn main() -> std::process::ExitCode {
    llmload::main()
}
