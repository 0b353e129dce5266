//! bom
async fn f() { std::fs::read("a"); }
