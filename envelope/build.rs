//! Compiles the vendored KMS v2 `api.proto` with protox (pure Rust, no `protoc`) and generates tonic server and
//! client code from the resulting descriptor set.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/api.proto");
    let descriptors = protox::compile(["api.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
