//! The math kernels as engine tasks: [`MathTask`] and the `math_task!` macro.

use super::math;
use crate::engine::Task;
use crate::Result;

/// One math kernel call, runnable on any [`crate::TaskExecutor`]; its output is
/// the kernel's result.
///
/// ```
/// use taskengine::kernels::MathTask;
/// use taskengine::{math_task, Config, Engine, TaskExecutor};
///
/// let engine = Engine::new(Config::with_workers(2)).unwrap();
/// assert_eq!(math_task!(gcd 12, 18), MathTask::Gcd(12, 18));
/// let handle = engine.execute(math_task!(factorial 20)).unwrap();
/// assert_eq!(handle.wait().unwrap(), Ok(2_432_902_008_176_640_000));
/// let too_big = math_task!(engine => fibonacci 94).unwrap();
/// assert_eq!(too_big.wait().unwrap(), Err(taskengine::EngineError::Overflow));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MathTask {
    /// [`factorial`](super::factorial)`(n)`.
    Factorial(u32),
    /// [`fibonacci`](super::fibonacci)`(n)`.
    Fibonacci(u32),
    /// [`gcd`](super::gcd)`(a, b)`.
    Gcd(u64, u64),
    /// [`lcm`](super::lcm)`(a, b)`.
    Lcm(u64, u64),
    /// [`isqrt`](super::isqrt)`(x)`.
    Isqrt(u64),
}

impl MathTask {
    /// Runs the kernel on the calling thread.
    pub fn compute(self) -> Result<u64> {
        match self {
            MathTask::Factorial(n) => math::factorial(n),
            MathTask::Fibonacci(n) => math::fibonacci(n),
            MathTask::Gcd(a, b) => math::gcd(a, b),
            MathTask::Lcm(a, b) => math::lcm(a, b),
            MathTask::Isqrt(x) => math::isqrt(x),
        }
    }
}

impl Task for MathTask {
    type Output = Result<u64>;

    fn run(self) -> Result<u64> {
        self.compute()
    }
}

/// Builds a [`MathTask`](crate::kernels::MathTask): `math_task!(factorial 20)`,
/// `math_task!(fibonacci 50)`, `math_task!(gcd 12, 18)`, `math_task!(lcm 4, 6)`,
/// `math_task!(isqrt 99)`. With an executor in front, `math_task!(engine =>
/// gcd 12, 18)` also starts it and gives `Result<TaskHandle<Result<u64>>>`.
#[macro_export]
macro_rules! math_task {
    (factorial $n:expr) => {
        $crate::kernels::MathTask::Factorial($n)
    };
    (fibonacci $n:expr) => {
        $crate::kernels::MathTask::Fibonacci($n)
    };
    (gcd $a:expr, $b:expr) => {
        $crate::kernels::MathTask::Gcd($a, $b)
    };
    (lcm $a:expr, $b:expr) => {
        $crate::kernels::MathTask::Lcm($a, $b)
    };
    (isqrt $x:expr) => {
        $crate::kernels::MathTask::Isqrt($x)
    };
    ($executor:expr => $op:ident $($arg:expr),+) => {
        $crate::TaskExecutor::execute(&$executor, $crate::math_task!($op $($arg),+))
    };
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, EngineError, TaskExecutor};

    #[test]
    fn tasks_run_on_the_engine_and_report_kernel_errors() {
        let engine = Engine::new(Config::with_workers(2)).unwrap();
        let tasks = [
            (math_task!(factorial 5), Ok(120)),
            (math_task!(factorial 21), Err(EngineError::Overflow)),
            (math_task!(fibonacci 93), Ok(12_200_160_415_121_876_738)),
            (math_task!(gcd 12, 18), Ok(6)),
            (math_task!(lcm 4, 6), Ok(12)),
            (math_task!(lcm u64::MAX, u64::MAX - 1), Err(EngineError::Overflow)),
            (math_task!(isqrt u64::MAX), Ok(u64::from(u32::MAX))),
        ];
        let handles: Vec<_> = tasks.iter().map(|(t, _)| engine.execute(*t).unwrap()).collect();
        for (h, (t, want)) in handles.into_iter().zip(tasks) {
            assert_eq!(h.wait().unwrap(), want, "{t:?}");
        }
        let h = math_task!(engine => gcd 0, 7).unwrap();
        assert_eq!(h.wait().unwrap(), Ok(7));
    }
}
