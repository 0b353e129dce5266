use std::fs;
// stateless-lint: allow(blocking-in-async) crlf
async fn f() {
    fs::read("a").unwrap();
    fs::read("b").unwrap(); // stateless-lint: allow(blocking-in-async)
}
