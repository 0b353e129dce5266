use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Html,
    routing::{get, patch, post},
    Json, Router,
};
use serde::Deserialize;

use crate::store::{self, Todo, User};
use crate::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", patch(toggle).delete(remove))
        .route("/export", post(export))
        .with_state(state)
}

async fn index(State(state): State<AppState>) -> Html<String> {
    let template = std::fs::read_to_string(&state.config.template).unwrap_or_default(); // expect: blocking-in-async
    Html(template.replace("{{count}}", &state.store.count().to_string()))
}

#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

async fn register(
    State(state): State<AppState>,
    Json(creds): Json<Credentials>,
) -> Result<StatusCode, StatusCode> {
    let cost = state.config.bcrypt_cost;
    let password = creds.password;
    let password_hash = tokio::task::spawn_blocking(move || bcrypt::hash(password, cost)) // expect-not: blocking-in-async (inside spawn_blocking)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    if state.store.add_user(User { name: creds.name, password_hash }) {
        Ok(StatusCode::CREATED)
    } else {
        Err(StatusCode::CONFLICT)
    }
}

async fn login(State(state): State<AppState>, Json(creds): Json<Credentials>) -> StatusCode {
    let Some(user) = state.store.user(&creds.name) else {
        return StatusCode::UNAUTHORIZED;
    };
    match bcrypt::verify(&creds.password, &user.password_hash) { // expect: blocking-in-async
        Ok(true) => StatusCode::NO_CONTENT,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn list(State(state): State<AppState>) -> Json<Vec<Todo>> {
    Json(state.store.list())
}

#[derive(Deserialize)]
struct NewTodo {
    title: String,
}

async fn create(
    State(state): State<AppState>,
    Json(new): Json<NewTodo>,
) -> Result<(StatusCode, Json<Todo>), StatusCode> {
    let title = new.title.trim();
    if title.is_empty() {
        return Err(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let todo = state.store.insert(title);
    store::save_snapshot(&state.store).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?; // expect: blocking-in-async
    Ok((StatusCode::CREATED, Json(todo)))
}

async fn toggle(State(state): State<AppState>, Path(id): Path<u64>) -> Result<Json<Todo>, StatusCode> {
    state.store.toggle(id).map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn remove(State(state): State<AppState>, Path(id): Path<u64>) -> StatusCode {
    if state.store.remove(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn export(State(state): State<AppState>) -> StatusCode {
    let target = state.config.data_dir.join("export.json");
    match store::export_with_retry(&state.store, &target).await { // expect-not: blocking-in-async (async fn, awaited; its sleep is reported inside it)
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
