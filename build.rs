// `include_dir!` (src/http/playground.rs) embeds the playground's built
// files, but cannot tell cargo to watch them on stable Rust: this does.
fn main() {
    println!("cargo:rerun-if-changed=assets/graphiql/dist");
    println!("cargo:rerun-if-changed=console/dist");
}
