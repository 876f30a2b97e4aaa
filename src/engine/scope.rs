//! Structured tasks that may borrow from the caller's stack.

use std::marker::PhantomData;
use std::sync::Arc;

use super::group::{spawn_scoped, GroupInner};
use super::unwind;

/// Spawns tasks that may borrow anything that outlives the `scope` call.
/// Created by [`crate::Engine::scope`].
pub struct Scope<'scope> {
    group: Arc<GroupInner>,
    /// Invariant in 'scope, like std's scoped threads.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

impl<'scope> Scope<'scope> {
    pub(crate) fn new(group: Arc<GroupInner>) -> Self {
        Scope { group, _marker: PhantomData }
    }

    /// Spawns `f` onto the engine; `scope` does not return before it has run.
    /// A panic in `f` is re-raised by `scope` once every task has finished.
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        let scope = Scope { group: Arc::clone(&self.group), _marker: PhantomData };
        // SAFETY: `Engine::scope` waits for the group before returning, so the
        // task never outlives 'scope.
        let spawned = unsafe { spawn_scoped(&self.group, move || f(&scope)) };
        if let Err(err) = spawned {
            // The engine was shut down inside the scope: nothing can run the task.
            panic!("taskengine: cannot spawn into scope: {err}");
        }
    }
}

/// Runs `op` with a fresh scope on `worker`, waits for every spawned task, and
/// re-raises the first panic (the op's own first).
pub(crate) fn run_scope<'scope, OP, R>(group: Arc<GroupInner>, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    let scope = Scope::new(Arc::clone(&group));
    let result = unwind::halt_unwinding(|| op(&scope));
    // Always wait: spawned tasks borrow from frames above us.
    let _ = group.wait(false, None);
    match result {
        Err(payload) => unwind::resume_unwinding(payload),
        Ok(value) => {
            if let Some(payload) = group.take_panic() {
                unwind::resume_unwinding(payload);
            }
            value
        }
    }
}
