//! The math kernels as engine tasks: [`MathOperation`], [`MathTask`] and the
//! `math_task!` macro.

use super::math;
use crate::engine::SyncTask;
use crate::error::{EngineError, Result};

/// Which math kernel a [`MathTask`] calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MathOperation {
    /// `n!` of one integer argument.
    Factorial,
    /// `F(n)` of one integer argument.
    Fibonacci,
    /// Greatest common divisor of two integers.
    Gcd,
    /// Least common multiple of two integers.
    Lcm,
    /// `floor(sqrt(x))` of one integer.
    Isqrt,
    /// The correctly rounded square root of one number.
    Sqrt,
}

impl MathOperation {
    /// Every operation.
    pub const ALL: [MathOperation; 6] = [
        MathOperation::Factorial,
        MathOperation::Fibonacci,
        MathOperation::Gcd,
        MathOperation::Lcm,
        MathOperation::Isqrt,
        MathOperation::Sqrt,
    ];

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            MathOperation::Gcd | MathOperation::Lcm => 2,
            _ => 1,
        }
    }

    /// Its name in `math_task!` (`"factorial"`, `"gcd"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MathOperation::Factorial => "factorial",
            MathOperation::Fibonacci => "fibonacci",
            MathOperation::Gcd => "gcd",
            MathOperation::Lcm => "lcm",
            MathOperation::Isqrt => "isqrt",
            MathOperation::Sqrt => "sqrt",
        }
    }
}

/// What a [`MathTask`] produces: an exact integer, or (for `Sqrt`) a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MathValue {
    /// An exact integer result.
    Int(u64),
    /// A floating-point result.
    Float(f64),
}

impl MathValue {
    /// The integer, if this is one.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            MathValue::Int(v) => Some(v),
            MathValue::Float(_) => None,
        }
    }

    /// The value as a float (an integer above 2^53 is rounded).
    pub fn as_f64(self) -> f64 {
        match self {
            MathValue::Int(v) => v as f64,
            MathValue::Float(v) => v,
        }
    }
}

/// A number [`MathTask::new`] accepts as an argument. Negative integers are
/// refused with `Invalid` (every integer kernel works on `u64`).
pub trait MathArg: Copy {
    /// The argument as a [`MathValue`].
    fn to_math_value(self) -> Result<MathValue>;
}

macro_rules! unsigned_arg {
    ($($t:ty),*) => {$(
        impl MathArg for $t {
            fn to_math_value(self) -> Result<MathValue> {
                Ok(MathValue::Int(self as u64))
            }
        }
    )*};
}
unsigned_arg!(u8, u16, u32, u64, usize);

macro_rules! signed_arg {
    ($($t:ty),*) => {$(
        impl MathArg for $t {
            fn to_math_value(self) -> Result<MathValue> {
                u64::try_from(self)
                    .map(MathValue::Int)
                    .map_err(|_| EngineError::invalid(format!("math argument {self} is negative")))
            }
        }
    )*};
}
signed_arg!(i8, i16, i32, i64, isize);

impl MathArg for f64 {
    fn to_math_value(self) -> Result<MathValue> {
        Ok(MathValue::Float(self))
    }
}

impl MathArg for f32 {
    fn to_math_value(self) -> Result<MathValue> {
        Ok(MathValue::Float(f64::from(self)))
    }
}

impl MathArg for MathValue {
    fn to_math_value(self) -> Result<MathValue> {
        Ok(self)
    }
}

/// One math kernel call, runnable on any [`crate::TaskExecutor`] (it is a
/// [`SyncTask`]); its output is the kernel's result as a [`MathValue`], its
/// failure the kernel's error.
///
/// ```
/// use taskengine::kernels::{MathOperation, MathTask, MathValue};
/// use taskengine::{math_task, Config, Engine, EngineError};
///
/// let engine = Engine::new(Config::with_workers(2)).unwrap();
/// assert_eq!(math_task!(gcd, 12, 18), MathTask::Gcd(12, 18));
/// assert_eq!(math_task!(gcd 12, 18), MathTask::Gcd(12, 18));
/// assert_eq!(MathTask::new(MathOperation::Factorial, &[20]), Ok(math_task!(factorial, 20)));
/// let handle = engine.execute(math_task!(factorial, 20)).unwrap();
/// assert_eq!(handle.wait(), Ok(MathValue::Int(2_432_902_008_176_640_000)));
/// let too_big = math_task!(engine => fibonacci, 94).unwrap();
/// assert_eq!(too_big.wait(), Err(EngineError::Overflow));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// [`sqrt`](super::sqrt)`(x)`.
    Sqrt(f64),
}

impl MathTask {
    /// The task `op(args...)`. `Invalid` when `args` does not have `op`'s arity or
    /// an argument has the wrong kind (a float, or a negative number, for an
    /// integer operation); `Overflow` for a factorial or Fibonacci number of an
    /// argument beyond `u32` (whose result could never fit). An integer argument
    /// to `Sqrt` is converted to the nearest float.
    pub fn new<A: MathArg>(op: MathOperation, args: &[A]) -> Result<MathTask> {
        if args.len() != op.arity() {
            return Err(EngineError::invalid(format!(
                "{} takes {} argument{}, got {}",
                op.name(),
                op.arity(),
                if op.arity() == 1 { "" } else { "s" },
                args.len()
            )));
        }
        let values = args.iter().map(|a| a.to_math_value()).collect::<Result<Vec<_>>>()?;
        let int = |i: usize| match values[i] {
            MathValue::Int(v) => Ok(v),
            MathValue::Float(v) => Err(EngineError::invalid(format!("{} takes integers, got {v}", op.name()))),
        };
        let small = |i: usize| int(i).and_then(|v| u32::try_from(v).map_err(|_| EngineError::Overflow));
        Ok(match op {
            MathOperation::Factorial => MathTask::Factorial(small(0)?),
            MathOperation::Fibonacci => MathTask::Fibonacci(small(0)?),
            MathOperation::Gcd => MathTask::Gcd(int(0)?, int(1)?),
            MathOperation::Lcm => MathTask::Lcm(int(0)?, int(1)?),
            MathOperation::Isqrt => MathTask::Isqrt(int(0)?),
            MathOperation::Sqrt => MathTask::Sqrt(values[0].as_f64()),
        })
    }

    /// Which kernel it calls.
    pub fn operation(&self) -> MathOperation {
        match self {
            MathTask::Factorial(_) => MathOperation::Factorial,
            MathTask::Fibonacci(_) => MathOperation::Fibonacci,
            MathTask::Gcd(..) => MathOperation::Gcd,
            MathTask::Lcm(..) => MathOperation::Lcm,
            MathTask::Isqrt(_) => MathOperation::Isqrt,
            MathTask::Sqrt(_) => MathOperation::Sqrt,
        }
    }

    /// Runs the kernel on the calling thread.
    pub fn compute(self) -> Result<MathValue> {
        match self {
            MathTask::Factorial(n) => math::factorial(n).map(MathValue::Int),
            MathTask::Fibonacci(n) => math::fibonacci(n).map(MathValue::Int),
            MathTask::Gcd(a, b) => math::gcd(a, b).map(MathValue::Int),
            MathTask::Lcm(a, b) => math::lcm(a, b).map(MathValue::Int),
            MathTask::Isqrt(x) => math::isqrt(x).map(MathValue::Int),
            MathTask::Sqrt(x) => math::sqrt(x).map(MathValue::Float),
        }
    }
}

impl SyncTask for MathTask {
    type Output = MathValue;

    fn run(&self) -> Result<MathValue> {
        self.compute()
    }
}

/// Builds a [`MathTask`](crate::kernels::MathTask), in either of two forms:
/// `math_task!(factorial, 20)`, `math_task!(gcd, 12, 18,)` (a trailing comma is
/// fine), or without the first comma, `math_task!(factorial 20)`,
/// `math_task!(gcd 12, 18)`. Operations: `factorial`, `fibonacci`, `gcd`, `lcm`,
/// `isqrt`, `sqrt`. With an engine in front, `math_task!(engine => gcd, 12, 18)`
/// also starts it (`engine.execute(..)`), giving
/// `Result<TaskHandle<MathValue>>`.
#[macro_export]
macro_rules! math_task {
    (factorial, $n:expr $(,)?) => {
        $crate::kernels::MathTask::Factorial($n)
    };
    (fibonacci, $n:expr $(,)?) => {
        $crate::kernels::MathTask::Fibonacci($n)
    };
    (gcd, $a:expr, $b:expr $(,)?) => {
        $crate::kernels::MathTask::Gcd($a, $b)
    };
    (lcm, $a:expr, $b:expr $(,)?) => {
        $crate::kernels::MathTask::Lcm($a, $b)
    };
    (isqrt, $x:expr $(,)?) => {
        $crate::kernels::MathTask::Isqrt($x)
    };
    (sqrt, $x:expr $(,)?) => {
        $crate::kernels::MathTask::Sqrt($x)
    };
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
    (sqrt $x:expr) => {
        $crate::kernels::MathTask::Sqrt($x)
    };
    ($executor:expr => $op:ident $(,)? $($arg:expr),+ $(,)?) => {
        $executor.execute($crate::math_task!($op, $($arg),+))
    };
}

#[cfg(test)]
mod tests {
    use super::{MathOperation, MathTask, MathValue};
    use crate::{Config, Engine, EngineError};

    #[test]
    fn tasks_run_on_the_engine_and_report_kernel_errors() {
        let engine = Engine::new(Config::with_workers(2)).unwrap();
        // Expected values from u128 arithmetic / std, not from the kernels.
        let tasks = [
            (math_task!(factorial 5), Ok(MathValue::Int(120))),
            (math_task!(factorial, 21), Err(EngineError::Overflow)),
            (math_task!(fibonacci, 93,), Ok(MathValue::Int(12_200_160_415_121_876_738))),
            (math_task!(gcd, 12, 18,), Ok(MathValue::Int(6))),
            (math_task!(lcm 4, 6), Ok(MathValue::Int(12))),
            (math_task!(lcm, u64::MAX, u64::MAX - 1), Err(EngineError::Overflow)),
            (math_task!(isqrt, u64::MAX), Ok(MathValue::Int(u64::MAX.isqrt()))),
            (math_task!(sqrt, 2.0), Ok(MathValue::Float(2f64.sqrt()))),
        ];
        let handles: Vec<_> = tasks.iter().map(|(t, _)| engine.execute(*t).unwrap()).collect();
        for (h, (t, want)) in handles.into_iter().zip(tasks) {
            assert_eq!(h.wait(), want, "{t:?}");
        }
        assert_eq!(math_task!(engine => gcd 0, 7).unwrap().wait(), Ok(MathValue::Int(7)));
        assert_eq!(math_task!(engine => gcd, 0, 7,).unwrap().wait(), Ok(MathValue::Int(7)));
        assert!(matches!(math_task!(engine => sqrt, -1.0).unwrap().wait(), Err(EngineError::Invalid(_))));
    }

    #[test]
    fn new_checks_arity_and_argument_kinds() {
        use MathOperation::*;
        assert_eq!(MathTask::new(Gcd, &[12u64, 18]), Ok(MathTask::Gcd(12, 18)));
        assert_eq!(MathTask::new(Factorial, &[20]), Ok(MathTask::Factorial(20)));
        assert_eq!(MathTask::new(Sqrt, &[2.25]), Ok(MathTask::Sqrt(2.25)));
        assert_eq!(MathTask::new(Sqrt, &[9u64]), Ok(MathTask::Sqrt(9.0)));
        for op in MathOperation::ALL {
            let too_many = vec![1u64; op.arity() + 1];
            let err = MathTask::new(op, &too_many).unwrap_err();
            assert!(matches!(&err, EngineError::Invalid(m) if m.contains(op.name())), "{err}");
            assert!(matches!(MathTask::new(op, &too_many[..op.arity() - 1]), Err(EngineError::Invalid(_))));
            let task = MathTask::new(op, &vec![4u64; op.arity()]).unwrap();
            assert_eq!(task.operation(), op);
        }
        assert!(matches!(MathTask::new(Gcd, &[1.5, 2.0]), Err(EngineError::Invalid(_))));
        assert!(matches!(MathTask::new(Isqrt, &[-4]), Err(EngineError::Invalid(_))));
        assert_eq!(MathTask::new(Factorial, &[u64::from(u32::MAX) + 1]), Err(EngineError::Overflow));
        assert_eq!(MathValue::Int(3).as_u64(), Some(3));
        assert_eq!(MathValue::Float(0.5).as_u64(), None);
    }
}
