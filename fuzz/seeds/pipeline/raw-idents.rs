mod r#async { pub fn r#await() { std::fs::read("x"); } pub use std::fs as r#fs; }
use r#async::{r#await as r#type, r#fs::{self, read as r#read}};
async fn r#fn(r#self_: u8) { r#type(); r#async::r#fs::read("a"); r#read("b"); let r#let = std::fs::File::open("c"); r#let.unwrap(); }
impl r#Struct { async fn r#match(&self) { r#fn(1).await; } }
struct r#Struct;
