async fn f() {
    let _ = || async move { std::fs::read("a") };
    let [a, .., b] = [1; 3];
    let S { x: ref mut y @ 1..=3, .. } = s else { return };
    if let Some(x) = y && let Ok(z) = x { std::fs::read(z); }
    loop { break 'a: { std::thread::sleep(d) } }
    match x { A | B if std::fs::exists("c").unwrap() => (), _ => unreachable!() }
    let f = <std::fs::File>::open; f("d");
    let g = std::fs::read::<&str>; g("e");
    async {}.await; (async {}).await.await;
    x.0.1.2.await?.await;
    try { std::fs::read("f")? };
    const { 1 };
    unsafe { std::fs::read("g") };
    #[cfg(test)] std::fs::read("h");
    yield 1;
    become f();
    builtin # offset_of(S, x);
    format_args!("{x} {y:?} {0}", std::fs::read("i"));
}
