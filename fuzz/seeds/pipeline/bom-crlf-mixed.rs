#![allow(x)]
async fn f() { std::fs::read("a");

  std::thread::sleep(d); }
