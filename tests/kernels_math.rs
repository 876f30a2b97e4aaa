//! The math kernels against exact published tables and independent
//! references (u128 arithmetic, Euclid's algorithm, std's `isqrt`/`sqrt`).

use proptest::prelude::*;
use taskengine::kernels::{factorial, fibonacci, gcd, isqrt, lcm, sqrt};
use taskengine::EngineError;

const FACTORIALS: [u64; 21] = [
    1,
    1,
    2,
    6,
    24,
    120,
    720,
    5040,
    40320,
    362880,
    3628800,
    39916800,
    479001600,
    6227020800,
    87178291200,
    1307674368000,
    20922789888000,
    355687428096000,
    6402373705728000,
    121645100408832000,
    2432902008176640000,
];

/// F(0) ..= F(40), then a few published large ones.
const FIBONACCI: [u64; 41] = [
    0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765, 10946, 17711, 28657,
    46368, 75025, 121393, 196418, 317811, 514229, 832040, 1346269, 2178309, 3524578, 5702887, 9227465, 14930352,
    24157817, 39088169, 63245986, 102334155,
];
const FIBONACCI_LARGE: [(u32, u64); 5] = [
    (50, 12586269025),
    (64, 10610209857723),
    (90, 2880067194370816120),
    (92, 7540113804746346429),
    (93, 12200160415121876738),
];

#[test]
fn factorial_table_and_overflow() {
    for (n, &want) in FACTORIALS.iter().enumerate() {
        assert_eq!(factorial(n as u32), Ok(want), "{n}!");
    }
    for n in [21, 22, 100, u32::MAX] {
        assert_eq!(factorial(n), Err(EngineError::Overflow), "{n}!");
    }
}

#[test]
fn fibonacci_table_and_overflow() {
    for (n, &want) in FIBONACCI.iter().enumerate() {
        assert_eq!(fibonacci(n as u32), Ok(want), "F({n})");
    }
    for (n, want) in FIBONACCI_LARGE {
        assert_eq!(fibonacci(n), Ok(want), "F({n})");
    }
    // Every n up to the limit against u128 iteration; F(94) needs 65 bits.
    let (mut a, mut b) = (0u128, 1u128);
    for n in 0..=100u32 {
        match u64::try_from(a) {
            Ok(v) => assert_eq!(fibonacci(n), Ok(v), "F({n})"),
            Err(_) => assert_eq!(fibonacci(n), Err(EngineError::Overflow), "F({n})"),
        }
        (a, b) = (b, a + b);
        if n == 93 {
            assert!(u64::try_from(a).is_err(), "F(94) must not fit");
        }
    }
    assert_eq!(fibonacci(u32::MAX), Err(EngineError::Overflow));
}

fn gcd_euclid(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..1000,
        Just(0),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(1 << 63),
        (0u32..64).prop_map(|k| 1u64 << k),
        (0u64..=u64::from(u32::MAX)).prop_map(|r| r * r),
        (1u64..=u64::from(u32::MAX)).prop_map(|r| r * r - 1),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn gcd_matches_euclid(a in interesting_u64(), b in interesting_u64()) {
        prop_assert_eq!(gcd(a, b), Ok(gcd_euclid(a, b)));
    }

    #[test]
    fn gcd_of_common_multiples(g in 1u64..1_000_000, x in 1u64..1_000_000, y in 1u64..1_000_000) {
        let want = g * gcd_euclid(x, y);
        prop_assert_eq!(gcd(g * x, g * y), Ok(want));
    }

    #[test]
    fn lcm_matches_u128(a in interesting_u64(), b in interesting_u64()) {
        let want = if a == 0 || b == 0 {
            0u128
        } else {
            u128::from(a) * u128::from(b) / u128::from(gcd_euclid(a, b))
        };
        match u64::try_from(want) {
            Ok(v) => prop_assert_eq!(lcm(a, b), Ok(v)),
            Err(_) => prop_assert_eq!(lcm(a, b), Err(EngineError::Overflow)),
        }
    }

    #[test]
    fn isqrt_matches_std(x in interesting_u64()) {
        let r = isqrt(x).unwrap();
        prop_assert_eq!(r, x.isqrt());
        // And by definition, in u128 so nothing overflows.
        prop_assert!(u128::from(r) * u128::from(r) <= u128::from(x));
        prop_assert!((u128::from(r) + 1) * (u128::from(r) + 1) > u128::from(x));
    }

    #[test]
    fn sqrt_matches_std(x in any::<f64>()) {
        if x.is_nan() || x < 0.0 {
            prop_assert!(matches!(sqrt(x), Err(EngineError::Invalid(_))));
        } else {
            prop_assert_eq!(sqrt(x).unwrap().to_bits(), x.sqrt().to_bits());
        }
    }
}

#[test]
fn isqrt_edges() {
    assert_eq!(isqrt(0), Ok(0));
    assert_eq!(isqrt(1), Ok(1));
    assert_eq!(isqrt(3), Ok(1));
    assert_eq!(isqrt(4), Ok(2));
    assert_eq!(isqrt(u64::MAX), Ok(4294967295));
    assert_eq!(isqrt(18446744065119617025), Ok(4294967295)); // (2^32 - 1)^2
    assert_eq!(isqrt(18446744065119617024), Ok(4294967294));
    // Near 2^53, where the double estimate is least exact.
    for x in (1u64 << 52) - 3..(1u64 << 52) + 3 {
        assert_eq!(isqrt(x), Ok(x.isqrt()));
    }
    for r in [94906265u64, 94906266, 3037000499, 3037000500] {
        for x in [r * r - 1, r * r, r * r + 1] {
            assert_eq!(isqrt(x), Ok(x.isqrt()), "isqrt({x})");
        }
    }
}

#[test]
fn gcd_lcm_edges() {
    assert_eq!(gcd(0, 0), Ok(0));
    assert_eq!(gcd(0, 9), Ok(9));
    assert_eq!(gcd(12, 18), Ok(6));
    assert_eq!(lcm(0, 9), Ok(0));
    assert_eq!(lcm(4, 6), Ok(12));
    assert_eq!(lcm(u64::MAX, 1), Ok(u64::MAX));
    assert_eq!(lcm(u64::MAX, u64::MAX), Ok(u64::MAX));
    assert_eq!(lcm(1 << 32, 1 << 32), Ok(1 << 32));
    assert_eq!(lcm((1 << 32) + 1, 1 << 32), Err(EngineError::Overflow));
}
