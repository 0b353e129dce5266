#!/usr/bin/env run-cargo-script
async fn f() { std::fs::read("a"); }
