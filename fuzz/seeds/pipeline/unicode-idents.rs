use std::fs as ƒs;
mod données { pub async fn lire() { super::ƒs::read("é").unwrap(); } }
async fn 日本語() -> Ω { let ñ = ƒs::File::open("x"); ñ.unwrap() }
struct Ω; impl Ω { async fn ŝ(&self) { std::thread::sleep(std::time::Duration::from_secs(1)); } }
// stateless-lint: allow(blocking-in-async) ünïcödé reason ✓
async fn z() { std::fs::read("😀"); }
