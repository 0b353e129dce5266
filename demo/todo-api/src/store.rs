use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Todo {
    pub id: u64,
    pub title: String,
    pub done: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub password_hash: String,
}

#[derive(Default, Serialize, Deserialize)]
struct Data {
    next_id: u64,
    todos: BTreeMap<u64, Todo>,
    users: BTreeMap<String, User>,
}

#[derive(Clone)]
pub struct Store { // expect: in-memory-app-state
    data: Arc<RwLock<Data>>,
    dir: PathBuf,
}

impl Store {
    /// Loads the last snapshot, if any.
    pub async fn open(dir: &Path) -> anyhow::Result<Store> {
        let data = match tokio::fs::read(dir.join("snapshot.json")).await { // expect-not: blocking-in-async (tokio twin)
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Store { data: Arc::new(RwLock::new(data)), dir: dir.to_owned() })
    }

    pub fn count(&self) -> usize {
        self.data.read().unwrap().todos.values().filter(|t| !t.done).count()
    }

    pub fn list(&self) -> Vec<Todo> {
        self.data.read().unwrap().todos.values().cloned().collect()
    }

    pub fn insert(&self, title: &str) -> Todo {
        let mut data = self.data.write().unwrap();
        data.next_id += 1;
        let todo = Todo { id: data.next_id, title: title.to_owned(), done: false };
        data.todos.insert(todo.id, todo.clone());
        todo
    }

    pub fn toggle(&self, id: u64) -> Option<Todo> {
        let mut data = self.data.write().unwrap();
        let todo = data.todos.get_mut(&id)?;
        todo.done = !todo.done;
        Some(todo.clone())
    }

    pub fn remove(&self, id: u64) -> bool {
        self.data.write().unwrap().todos.remove(&id).is_some()
    }

    pub fn user(&self, name: &str) -> Option<User> {
        self.data.read().unwrap().users.get(name).cloned()
    }

    pub fn add_user(&self, user: User) -> bool {
        let mut data = self.data.write().unwrap();
        if data.users.contains_key(&user.name) {
            return false;
        }
        data.users.insert(user.name.clone(), user);
        true
    }

    fn snapshot_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&*self.data.read().unwrap()).expect("snapshot serializes")
    }
}

/// Writes a snapshot atomically (write to a temp file, then rename). Blocking: std::fs.
pub fn save_snapshot(store: &Store) -> std::io::Result<()> {
    let tmp = store.dir.join("snapshot.json.tmp");
    std::fs::write(&tmp, store.snapshot_json())?; // expect-not: blocking-in-async (reported at the async caller)
    std::fs::rename(&tmp, store.dir.join("snapshot.json")) // expect-not: blocking-in-async (reported at the async caller)
}

/// Copies the data to `target`, retrying a few times if the disk is busy.
pub async fn export_with_retry(store: &Store, target: &Path) -> std::io::Result<()> {
    let body = store.snapshot_json();
    let mut attempt = 0u64;
    loop {
        match tokio::fs::write(target, &body).await { // expect-not: blocking-in-async (tokio twin)
            Ok(()) => return Ok(()),
            Err(e) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "export failed, retrying");
                std::thread::sleep(Duration::from_millis(200 * attempt)); // expect: blocking-in-async
            }
            Err(e) => return Err(e),
        }
    }
}
