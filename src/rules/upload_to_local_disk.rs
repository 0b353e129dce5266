use crate::catalogs::uploads::UploadCatalog;
use crate::dataflow::{Flow, Origin, Through};
use crate::facts::Callee;
use crate::finding::{Finding, Level, Note};
use crate::model::{CallTarget, CrateModel, FnId, Resolved};
use crate::rules::{declare_rule, Rule, RuleContext, RuleMeta};
use crate::source::Range;
use crate::statefulness::TypeIndex;
use crate::summary::Operand;

declare_rule! {
    /// ## What it does
    /// Flags handlers that write uploaded data to the local filesystem. Upload data is what
    /// comes from a multipart request: axum `Multipart` fields (and `axum_typed_multipart`),
    /// actix-multipart `Multipart` and `MultipartForm` with `TempFile`s, rocket `TempFile`
    /// and raw `Data`, warp `multipart::form()` parts, poem `Multipart` (and poem-openapi
    /// `Upload`), salvo `req.file(..)`/`req.files(..)`/`FilePart`. It is followed through
    /// locals, fields, method calls (`field.bytes().await`) and one call into the crate's
    /// own helpers (`save(field).await` where `save` writes its parameter) to:
    /// `tokio::fs::write`, `std::fs::write`, `copy`/`rename` of the upload's temp file,
    /// `write_all` on a `File` (`tokio::fs::File::create` and friends, also through a
    /// `BufWriter`), `tokio::io::copy` into a file, `NamedTempFile::persist` (actix's
    /// `TempFile.file.persist(..)`), rocket's `persist_to`/`copy_to`/`move_copy_to`/
    /// `into_file`. In a crate that receives uploads, object stores whose backend is the
    /// local disk are flagged where they are built (as warnings: often one branch of a
    /// configurable backend): `object_store::local::LocalFileSystem`, opendal's `Fs`
    /// service, loco's `storage::drivers::local`.
    ///
    /// Not flagged: a temp file that the same handler deletes again (`remove_file` on the
    /// same path) or that lives under `std::env::temp_dir()`/`tempfile`; uploads streamed to
    /// object storage (`object_store` with an S3/GCS/Azure builder, `aws-sdk-s3`
    /// `put_object`, opendal with a remote service); writes of data that does not come from
    /// the upload; test code.
    ///
    /// ## Why is this bad?
    /// A stateless service runs as several replicas, and any instance can be replaced at
    /// any moment. A file written to the local disk exists only on the instance that
    /// received the upload: a download that the load balancer sends to another replica
    /// finds nothing, and the file is gone when the instance (or its container) is
    /// replaced. Container filesystems are also often small and ephemeral.
    ///
    /// ## Example
    /// ```rust
    /// async fn upload(mut multipart: Multipart) -> StatusCode {
    ///     while let Some(field) = multipart.next_field().await.unwrap() {
    ///         let name = field.file_name().unwrap().to_owned();
    ///         let data = field.bytes().await.unwrap();
    ///         tokio::fs::write(format!("uploads/{name}"), &data).await.unwrap();
    ///     }
    ///     StatusCode::CREATED
    /// }
    /// ```
    ///
    /// Use instead: stream the data to object storage that every replica reads:
    /// ```rust
    /// async fn upload(State(s3): State<Arc<dyn ObjectStore>>, mut multipart: Multipart) -> StatusCode {
    ///     while let Some(field) = multipart.next_field().await.unwrap() {
    ///         let key = object_store::path::Path::from(uuid::Uuid::new_v4().to_string());
    ///         let data = field.bytes().await.unwrap();
    ///         s3.put(&key, data.into()).await.unwrap();
    ///     }
    ///     StatusCode::CREATED
    /// }
    /// ```
    /// with `AmazonS3Builder::from_env().with_bucket_name(b).build()?` at start-up (or
    /// `aws_sdk_s3::Client::put_object`, or opendal with `services::S3`).
    ///
    /// ## Known problems
    /// Upload data handled inside closures (warp's `.and_then(|part| ..)` streams) is not
    /// followed; helpers are followed one call deep. A local path that is a mounted shared
    /// volume (NFS, EFS) is still reported: suppress it with the reason.
    pub static META = {
        id: "upload-to-local-disk",
        level: Level::Error,
        summary: "uploaded files written to the local filesystem instead of shared object storage",
        since: "0.1.0",
    };
}

pub struct UploadToLocalDisk;

/// Where upload data enters a fn.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Param(usize),
    Call(usize),
}

/// A write of upload data to the local disk.
struct Hit {
    /// The fn that makes the write (the handler or a helper it calls).
    writer: FnId,
    range: Range,
    api: String,
    /// The call in the handler that leads to a helper's write.
    via: Option<Range>,
}

impl Rule for UploadToLocalDisk {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let model = cx.model;
        let cat = UploadCatalog::builtin();
        let index = TypeIndex::new(model);
        let request = model.request_code();
        let mut receives_uploads = false;
        for id in 0..model.fns.len() {
            if !cx.include_tests && is_test_fn(model, id) {
                continue;
            }
            // Handlers of mounted routes and the async fns they call (dead handlers get no
            // findings); start-up code is not request code.
            if request.context(model, id, 0).is_none() {
                continue;
            }
            let sources = sources(model, &index, cat, id);
            if sources.is_empty() {
                continue;
            }
            receives_uploads = true;
            let is_source = |o: &Origin<'_>| match o {
                Origin::Param(i) => sources.iter().any(|(s, _)| *s == Source::Param(*i)),
                Origin::Call(k) => sources.iter().any(|(s, _)| *s == Source::Call(*k)),
                _ => false,
            };
            let hits = find_sinks(model, cat, id, &is_source, false, 0);
            let (_, src_range) = &sources[0];
            for h in hits {
                out.push(hit_finding(cx, id, *src_range, &h));
            }
        }
        if receives_uploads {
            local_stores(cx, cat, out);
        }
    }
}

fn is_test_fn(model: &CrateModel<'_>, id: FnId) -> bool {
    model.fn_facts(id).attrs.is_test || model.file(model.fns[id].file).is_test
}

/// The parameters and calls of fn `id` that carry upload data, with their ranges.
fn sources(
    model: &CrateModel<'_>,
    index: &TypeIndex<'_>,
    cat: &UploadCatalog,
    id: FnId,
) -> Vec<(Source, Range)> {
    let f = model.fn_facts(id);
    let target = model.fns[id].target;
    let mut out = Vec::new();
    let mut request_params = Vec::new();
    for (i, p) in f.param_types.iter().enumerate() {
        let Some(ty) = &p.ty else { continue };
        if index.mentions(model, target, &f.module, ty, &|p| cat.is_source_type(p)) {
            out.push((Source::Param(i), p.range));
        }
        let resolved = model.resolve_in_fn(id, &ty.path);
        if let Some(Resolved::Extern(path)) = resolved.first() {
            request_params.push((i, path.clone()));
        }
    }
    let flow = Flow::new(f);
    for (k, c) in f.calls.iter().enumerate() {
        let Callee::Method { name, .. } = &c.callee else {
            continue;
        };
        let Some(recv) = &c.receiver else { continue };
        if !request_params
            .iter()
            .any(|(_, path)| cat.is_source_method(name, path))
        {
            continue;
        }
        let origins = flow.origins(recv, k, &|_, _| Through::Nothing);
        let on_request = origins.iter().any(|o| match o {
            Origin::Param(i) => request_params
                .iter()
                .any(|(j, path)| j == i && cat.is_source_method(name, path)),
            _ => false,
        });
        if on_request {
            out.push((Source::Call(k), c.range));
        }
    }
    out
}

/// Methods that return facts about an upload rather than its contents.
const METADATA_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "size",
    "count",
    "name",
    "file_name",
    "filename",
    "content_type",
    "headers",
    "content_disposition",
];

/// Methods that append their argument to the receiver.
const FILL_METHODS: &[&str] = &[
    "extend_from_slice",
    "extend",
    "push",
    "append",
    "put",
    "put_slice",
    "push_str",
    "write_all",
];

/// `op` (used where `at` calls have been recorded) is built from one of the `filled` locals.
fn mentions_filled(
    f: &crate::facts::FnFacts,
    flow: &Flow<'_>,
    op: &Operand,
    at: usize,
    filled: &[&str],
    depth: u32,
) -> bool {
    if filled.is_empty() || depth > 12 {
        return false;
    }
    let d = depth + 1;
    match op {
        Operand::Local(n) => {
            filled.contains(&n.as_str())
                || flow
                    .binding(n, at)
                    .is_some_and(|l| mentions_filled(f, flow, &l.value, l.after_call, filled, d))
        }
        Operand::Field(b, _) => mentions_filled(f, flow, b, at, filled, d),
        Operand::Tuple(xs) | Operand::Array(xs) => {
            xs.iter().any(|x| mentions_filled(f, flow, x, at, filled, d))
        }
        Operand::Struct(_, fs) => fs
            .iter()
            .any(|(_, x)| mentions_filled(f, flow, x, at, filled, d)),
        Operand::Call(i) => f.calls.get(*i).is_some_and(|c| {
            let metadata = matches!(&c.callee, Callee::Method { name, .. } if METADATA_METHODS.contains(&name.as_str()));
            !metadata
                && (c
                    .receiver
                    .as_ref()
                    .is_some_and(|r| mentions_filled(f, flow, r, *i, filled, d))
                    || c.args.iter().any(|a| mentions_filled(f, flow, a, *i, filled, d)))
        }),
        _ => false,
    }
}

/// Deepest chain of crate helpers followed from a handler.
const MAX_HELPER_DEPTH: u32 = 1;

fn find_sinks(
    model: &CrateModel<'_>,
    cat: &UploadCatalog,
    id: FnId,
    is_source: &dyn Fn(&Origin<'_>) -> bool,
    self_is_upload: bool,
    depth: u32,
) -> Vec<Hit> {
    let f = model.fn_facts(id);
    let flow = Flow::new(f);
    // Metadata of an upload (`len()`, `file_name()`) is not its contents.
    let through = |_: usize, c: &crate::facts::CallSite| match &c.callee {
        Callee::Method { name, .. } if METADATA_METHODS.contains(&name.as_str()) => {
            Through::Nothing
        }
        _ => Through::Both,
    };
    let direct = |op: &Operand, at: usize| {
        flow.origins(op, at, &through).iter().any(is_source)
            || (self_is_upload
                && matches!(
                    crate::statefulness::root_of(f, op, at),
                    crate::statefulness::Root::SelfValue(_)
                ))
    };
    // Locals filled with upload data (`bytes.extend_from_slice(&chunk)`).
    let mut filled: Vec<&str> = Vec::new();
    for _ in 0..2 {
        for (ci, c) in f.calls.iter().enumerate() {
            let Callee::Method { name, .. } = &c.callee else {
                continue;
            };
            if !FILL_METHODS.contains(&name.as_str()) {
                continue;
            }
            let Some(Operand::Local(local)) = &c.receiver else {
                continue;
            };
            if !filled.contains(&local.as_str())
                && c.args
                    .iter()
                    .any(|a| direct(a, ci) || mentions_filled(f, &flow, a, ci, &filled, 0))
            {
                filled.push(local);
            }
        }
    }
    let from_upload =
        |op: &Operand, at: usize| direct(op, at) || mentions_filled(f, &flow, op, at, &filled, 0);
    let mut out = Vec::new();
    for (ci, call) in f.calls.iter().enumerate() {
        let target = model.call_target(id, ci);
        let hit: Option<String> = match target {
            CallTarget::Extern(ps) => ps.iter().find_map(|p| {
                let sink = cat.sink(p)?;
                let data = call.args.get(sink.data)?;
                if !from_upload(data, ci) {
                    return None;
                }
                let dest = match sink.to_file {
                    Some(k) => {
                        let file = call.args.get(k)?;
                        let ctor = file_constructor(model, cat, id, file, ci)?;
                        f.calls[ctor].args.first()
                    }
                    None if sink.data == 0 => call.args.get(1),
                    None => call.args.first(),
                };
                if dest.is_some_and(|d| is_scratch(model, cat, id, d, ci)) {
                    return None;
                }
                Some(p.join("::"))
            }),
            CallTarget::ExternMethod { ty, name } => {
                let persist = cat.is_persist(name)
                    && call.receiver.as_ref().is_some_and(|r| from_upload(r, ci));
                let write = cat.sink_method(ty, name).is_some_and(|d| {
                    call.args.get(d).is_some_and(|a| from_upload(a, ci))
                        && !call.receiver.as_ref().is_some_and(|r| {
                            file_constructor(model, cat, id, r, ci).is_some_and(|c| {
                                f.calls[c]
                                    .args
                                    .first()
                                    .is_some_and(|d| is_scratch(model, cat, id, d, ci))
                            })
                        })
                });
                (persist || write).then(|| format!("{}::{name}", ty.join("::")))
            }
            CallTarget::UnknownMethod { name } => {
                let persist = cat.is_persist(name)
                    && call.receiver.as_ref().is_some_and(|r| from_upload(r, ci))
                    && !call
                        .args
                        .first()
                        .is_some_and(|d| is_scratch(model, cat, id, d, ci));
                // `f.write_all(&chunk)` on a file whose type the facts lost (it came out
                // of `web::block(|| File::create(p))`).
                let write = cat.is_sink_method_name(name)
                    && call.args.first().is_some_and(|a| from_upload(a, ci))
                    && call.receiver.as_ref().is_some_and(|r| {
                        file_constructor(model, cat, id, r, ci).is_some_and(|c| {
                            !f.calls[c]
                                .args
                                .first()
                                .is_some_and(|d| is_scratch(model, cat, id, d, ci))
                        })
                    });
                (persist || write).then(|| name.to_string())
            }
            _ => None,
        };
        if depth < MAX_HELPER_DEPTH {
            if let Some(callee) = local_callee(model, id, ci) {
                let recv_upload = call.receiver.as_ref().is_some_and(|r| from_upload(r, ci));
                let upload_args: Vec<usize> = (0..call.args.len())
                    .filter(|&k| from_upload(&call.args[k], ci))
                    .collect();
                if recv_upload || !upload_args.is_empty() {
                    let param =
                        |o: &Origin<'_>| matches!(o, Origin::Param(k) if upload_args.contains(k));
                    for mut h in find_sinks(model, cat, callee, &param, recv_upload, depth + 1) {
                        h.via = Some(call.range);
                        out.push(h);
                    }
                }
            }
        }
        if let Some(api) = hit {
            out.push(Hit {
                writer: id,
                range: call.range,
                api,
                via: None,
            });
        }
    }
    out
}

/// The crate fn call `ci` of fn `id` calls: resolved by the model, or a method of a crate
/// struct built with a struct literal (`Paste { data }.store_file(..)`).
fn local_callee(model: &CrateModel<'_>, id: FnId, ci: usize) -> Option<FnId> {
    if let CallTarget::Local(callee) = model.call_target(id, ci) {
        return Some(*callee);
    }
    let f = model.fn_facts(id);
    let call = &f.calls[ci];
    let Callee::Method { name, .. } = &call.callee else {
        return None;
    };
    let flow = Flow::new(f);
    let mut op = call.receiver.as_ref()?;
    let mut at = ci;
    for _ in 0..16 {
        match op {
            Operand::Local(n) => {
                let l = flow.binding(n, at)?;
                op = &l.value;
                at = l.after_call;
            }
            Operand::Struct(path, _) => {
                return model
                    .resolve_in_fn(id, path)
                    .into_iter()
                    .find_map(|r| match r {
                        Resolved::Local { target, path } => {
                            let mut p = path;
                            p.push(name.clone());
                            model.local_fn(target, &p)
                        }
                        Resolved::Extern(_) => None,
                    });
            }
            _ => return None,
        }
    }
    None
}

/// The file-opening call (`File::create(path)`) that `op` comes from, if any.
fn file_constructor(
    model: &CrateModel<'_>,
    cat: &UploadCatalog,
    id: FnId,
    op: &Operand,
    at: usize,
) -> Option<usize> {
    let f = model.fn_facts(id);
    let flow = Flow::new(f);
    let through = |_: usize, c: &crate::facts::CallSite| match &c.callee {
        Callee::Method { .. } => Through::Receiver,
        Callee::Path(_) => Through::Args,
    };
    let mut work = vec![(op, at)];
    let mut seen = std::collections::HashSet::new();
    while let Some((op, at)) = work.pop() {
        for o in flow.origins(op, at, &through) {
            match o {
                Origin::Call(k) => {
                    if let CallTarget::Extern(ps) = model.call_target(id, k) {
                        if ps.iter().any(|p| cat.is_file_constructor(p)) {
                            return Some(k);
                        }
                    }
                }
                // `web::block(|| File::create(p))`: the closure's value.
                Origin::Closure(s) if seen.insert(s) => {
                    if let Some(v) = &f.scopes[s].value {
                        let calls_before = f.calls.len();
                        work.push((v, calls_before));
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// A destination that is scratch space: under a temp dir, or removed again in the same fn.
fn is_scratch(
    model: &CrateModel<'_>,
    cat: &UploadCatalog,
    id: FnId,
    dest: &Operand,
    at: usize,
) -> bool {
    let f = model.fn_facts(id);
    let flow = Flow::new(f);
    let temp = flow
        .origins(dest, at, &|_, _| Through::Both)
        .into_iter()
        .any(|o| match o {
            Origin::Call(k) => match model.call_target(id, k) {
                CallTarget::Extern(ps) => ps.iter().any(|p| cat.is_scratch_call(p)),
                _ => false,
            },
            _ => false,
        });
    if temp {
        return true;
    }
    let Operand::Local(name) = dest else {
        return false;
    };
    let binding = flow.binding(name, at).map(|l| l as *const _);
    f.calls.iter().enumerate().any(|(k, c)| {
        let removes = match model.call_target(id, k) {
            CallTarget::Extern(ps) => ps.iter().any(|p| cat.is_remove(p)),
            _ => false,
        };
        removes
            && matches!(c.args.first(), Some(Operand::Local(n)) if n == name
                && flow.binding(n, k).map(|l| l as *const _) == binding)
    })
}

fn hit_finding(cx: &RuleContext<'_>, handler: FnId, source: Range, h: &Hit) -> Finding {
    let model = cx.model;
    let short = &h.api;
    let handler_path = model.fn_path(handler).to_path_buf();
    let mut notes = vec![Note {
        message: format!(
            "the upload comes from here, in `{}`",
            model.fn_display(handler)
        ),
        location: Some((handler_path.clone(), source)),
    }];
    let (path, range) = match h.via {
        Some(via) => {
            notes.push(Note {
                message: format!(
                    "`{}` writes it with `{short}` here",
                    model.fn_display(h.writer)
                ),
                location: Some((model.fn_path(h.writer).to_path_buf(), h.range)),
            });
            (handler_path, via)
        }
        None => (model.fn_path(h.writer).to_path_buf(), h.range),
    };
    Finding {
        rule: META.id,
        level: cx.level,
        message: format!("uploaded data is written to the local disk (`{short}`)"),
        path,
        range,
        label: "the file exists only on this instance: other replicas cannot serve it, and it is lost when the instance is replaced".into(),
        help: Some("stream the upload to object storage that every replica reads (`object_store` with an S3/GCS/Azure builder, `aws-sdk-s3` `put_object`, or `opendal` with a remote service); a temp file is fine only while the request processes it".into()),
        notes,
    }
}

/// Object stores backed by the local disk, in a crate that receives uploads.
fn local_stores(cx: &RuleContext<'_>, cat: &UploadCatalog, out: &mut Vec<Finding>) {
    let model = cx.model;
    for id in 0..model.fns.len() {
        if !cx.include_tests && is_test_fn(model, id) {
            continue;
        }
        let f = model.fn_facts(id);
        for (ci, call) in f.calls.iter().enumerate() {
            let CallTarget::Extern(ps) = model.call_target(id, ci) else {
                continue;
            };
            let Some(what) = ps.iter().find_map(|p| cat.local_store(p)) else {
                continue;
            };
            out.push(Finding {
                rule: META.id,
                // Often one branch of a configurable backend: a warning, not an error.
                level: cx.level_for(Some(Level::Warning)),
                message: format!("uploads are stored on the local disk: {what}"),
                path: model.fn_path(id).to_path_buf(),
                range: call.range,
                label: "other replicas cannot read these files, and they are lost when the instance is replaced".into(),
                help: Some("configure a remote backend: `object_store::aws::AmazonS3Builder` (or GCS/Azure), opendal `services::S3`, loco `storage::drivers::aws`".into()),
                notes: vec![Note {
                    message: "if this is the fallback of a configurable backend, make sure production configures the remote one (and say so: `// stateless-lint: allow(upload-to-local-disk) <why>`)".into(),
                    location: None,
                }],
            });
        }
    }
}
