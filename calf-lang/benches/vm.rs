//! Micro-benchmarks of the VM's hot paths: instruction dispatch (calls,
//! arithmetic, loops, the collection natives a loop calls) and value
//! clone/drop. `cargo bench -p calf-lang`; `bench/run` has the
//! whole-program comparisons with other languages.

use std::hint::black_box;
use std::sync::Arc;

use calf_lang::namespace::{Globals, USER};
use calf_lang::prelude::{load_pure, new_globals, run_pure};
use calf_lang::vm::Vm;
use calf_lang::{Sym, Value};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

/// The functions the dispatch benchmarks call, as bench/programs/ writes
/// them.
const PROGRAM: &str = r#"
(defn fib [n]
  (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))

(defn sum-to [n]
  (loop [i 1 acc 0]
    (if (<= i n) (recur (inc i) (+ acc i)) acc)))

(defn build-vector [n]
  (loop [i 0 v []]
    (if (< i n) (recur (inc i) (conj v i)) v)))

(defn build-map [n]
  (loop [i 0 m {}]
    (if (< i n) (recur (inc i) (assoc m i i)) m)))

(defn sum-vector [v]
  (reduce + 0 v))
"#;

fn function(globals: &Arc<Globals>, name: &str) -> Value {
    globals
        .resolve(Sym::new(USER), Sym::new(name))
        .and_then(|var| var.get())
        .unwrap_or_else(|| panic!("{name} is not defined"))
}

/// Runs `(f args...)` to its end.
fn call(f: &Value, args: Vec<Value>) -> Value {
    run_pure(Vm::call(f.clone(), args)).expect("the call returns")
}

fn dispatch(c: &mut Criterion) {
    let globals = new_globals();
    load_pure(&globals, "bench.calf", PROGRAM, Sym::new(USER)).expect("the program loads");
    let fib = function(&globals, "fib");
    let sum_to = function(&globals, "sum-to");
    let build_vector = function(&globals, "build-vector");
    let build_map = function(&globals, "build-map");
    let sum_vector = function(&globals, "sum-vector");
    let vector = call(&build_vector, vec![Value::Int(10_000)]);

    let mut group = c.benchmark_group("dispatch");
    // Non-tail calls and returns: 1973 calls.
    group.bench_function("fib 15", |b| {
        b.iter(|| call(&fib, vec![Value::Int(black_box(15))]))
    });
    // A loop of arithmetic, comparison and recur: 10,000 iterations.
    group.bench_function("loop sum 10k", |b| {
        b.iter(|| call(&sum_to, vec![Value::Int(black_box(10_000))]))
    });
    // A loop calling the conj native on a growing vector.
    group.bench_function("conj 10k", |b| {
        b.iter(|| call(&build_vector, vec![Value::Int(black_box(10_000))]))
    });
    // A loop calling the assoc native on a growing map.
    group.bench_function("assoc 10k", |b| {
        b.iter(|| call(&build_map, vec![Value::Int(black_box(10_000))]))
    });
    // reduce (written in Calf) calling a native function for each item.
    group.bench_function("reduce + 10k", |b| {
        b.iter(|| call(&sum_vector, vec![black_box(vector.clone())]))
    });
    group.finish();
}

fn values(c: &mut Criterion) {
    let samples = [
        ("int", Value::Int(42)),
        ("keyword", Value::keyword("ok")),
        ("string", Value::str("a short string")),
        ("vector of 100", Value::vector((0..100).map(Value::Int))),
        (
            "map of 100",
            Value::map((0..100).map(|i| (Value::Int(i), Value::str(i.to_string())))),
        ),
    ];
    let mut group = c.benchmark_group("value");
    for (name, value) in &samples {
        // What sending a message or reading a local costs: a clone, then
        // the drop of that clone.
        group.bench_function(format!("clone+drop {name}"), |b| {
            b.iter(|| drop(black_box(value.clone())))
        });
    }
    // The drop of the last reference, which frees the structure.
    group.bench_function("drop last vector of 1000", |b| {
        b.iter_batched(
            || Value::vector((0..1000).map(Value::Int)),
            drop,
            BatchSize::SmallInput,
        )
    });
    group.bench_function("drop last map of 1000", |b| {
        b.iter_batched(
            || Value::map((0..1000).map(|i| (Value::Int(i), Value::Int(i)))),
            drop,
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, dispatch, values);
criterion_main!(benches);
