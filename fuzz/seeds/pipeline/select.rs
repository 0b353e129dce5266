async fn s(mut rx: Rx) {
    tokio::select! {
        biased;
        Some(v) = rx.recv(), if v > 0 => { std::fs::read("a"); }
        _ = async { std::thread::sleep(d) } => std::fs::write("b", ""),
        x = = => ,
        => => =>,
        ; ; , ,
        r = futures::future::ready(std::fs::read("c")) => {}, else => { std::process::exit(1) }
        a = b = c => d = e => f,
        = fut => {},
        pat = => {}
        Ok(x) = tokio::spawn(async { std::fs::read("d") }) => match x { _ => std::fs::read("e") },
    }
    tokio::select!();
    tokio::select!{ => };
    tokio::select![=];
    futures::select! { x = a.fuse() => std::fs::read("f"), complete => break, default => {} }
}
