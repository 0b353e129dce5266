// stateless-lint: allow-file(blocking-in-async)
// stateless-lint: allow-file()
// stateless-lint: allow-file(no-such-rule, blocking-in-async,,)
// stateless-lint: allow(
// stateless-lint: allow(blocking-in-async
// stateless-lint:allow(blocking-in-async)x
/* stateless-lint: allow(blocking-in-async) */ async fn f() { std::fs::read("a"); } // stateless-lint: allow(unused-suppression)
// stateless-lint: allow(blocking-in-async)
