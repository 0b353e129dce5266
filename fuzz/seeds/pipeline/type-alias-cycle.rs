type A = B; type B = A; type C = C; type F = std::fs::File;
struct S { f: F }
impl A { fn new() -> B { todo!() } }
impl C { async fn go(&self) -> Self { let a = A::new(); let c: C = a.clone().into(); let f = F::open("x").unwrap(); f.sync_all(); c } }
async fn g() { let s = Self::new(); let t = <A as Tr>::x(); let u = (S::go(), F::open("y")).1.unwrap(); }
