//! A VM saved in the middle of a computation and restored in another
//! runtime's namespaces finishes as if it had never stopped; a damaged
//! snapshot is refused, never run.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::format::{Data, FrameCode, ProcessImage, WaitImage};
use super::*;
use crate::compiler::{Compiler, TopLevel};
use crate::namespace::USER;
use crate::prelude::{load_pure, new_globals};
use crate::reader;
use crate::vm::{Effect, Outcome, Owed, Restored, Vm};
use crate::{Sym, Value};

const PROGRAM: &str = "
(defn step [x] (+ x (sleep 5)))
(defn total [xs] (reduce + (map step xs)))
(defrecord Offset [n])
(def offset (->Offset 100))
(defn run [] (let [o offset t (total [1 2 3])] (+ (:n o) t)))
(defn lazy-run [] (let [s (map step (take 3 (iterate inc 1)))] (+ (first s) (count s) (last s))))
(defn var-run [] (let [v #'step] (+ (v 1) (@v 2))))
(defn shared-run []
  (let [s (map inc (iterate inc 1)) t (rest s) u (nthrest s 2)]
    (sleep 1) (nth u 3) (sleep 1)
    [(identical? (rest s) t) (identical? (rest t) u) (identical? (nthrest s 5) (nthrest u 3)) (nth s 8)]))";

/// What every `sleep` answers in these tests.
const ANSWER: i64 = 10;

fn program_globals() -> Arc<Globals> {
    let globals = new_globals();
    load_pure(&globals, "<snapshot-test>", PROGRAM, Sym::new(USER)).unwrap();
    globals
}

fn compile(globals: &Arc<Globals>, text: &str) -> Vm {
    let forms = reader::read_str("<snapshot-test-main>", text).unwrap();
    let mut compiler = Compiler::new(globals, Sym::new(USER), &forms.spans, forms.form_spans[0]);
    match compiler.expand_toplevel(&forms.forms[0]).unwrap() {
        TopLevel::Code(code) => Vm::new(code),
        TopLevel::Forms(_) => panic!("a plain expression"),
    }
}

/// Runs until the VM stops for an effect or ends.
fn run_to_effect(vm: &mut Vm) -> Result<crate::vm::Resume, Value> {
    loop {
        match vm.run(1_000) {
            Outcome::Yield => {}
            Outcome::Done(value) => return Err(value),
            Outcome::Effect(Effect::Sleep { .. }, resume) => return Ok(resume),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Answers every effect with [`ANSWER`] until the VM ends.
fn finish(mut vm: Vm) -> Value {
    loop {
        match run_to_effect(&mut vm) {
            Ok(resume) => vm.resume(resume, Value::Int(ANSWER)),
            Err(value) => return value,
        }
    }
}

/// A process image of `vm`, waiting for an answer, and the images it names.
fn save(vm: &Vm, globals: &Globals) -> (Vec<u8>, BTreeMap<Hash, Arc<[u8]>>) {
    let mut cache = ImageCache::default();
    let mut encoder = Encoder::new(&mut cache);
    let vm_image = encoder.vm(vm).unwrap();
    let job = encoder.job(globals).unwrap();
    let mut needs = encoder.into_needs();
    let job_bytes = write_image(Kind::Job, &job).unwrap();
    let job_hash = Hash::of(&job_bytes);
    let mut blobs: BTreeMap<Hash, Arc<[u8]>> = needs
        .iter()
        .map(|h| {
            (
                *h,
                cache.blob(h).expect("every named image is in the cache"),
            )
        })
        .collect();
    blobs.insert(job_hash, job_bytes.into());
    needs.insert(job_hash);
    let image = ProcessImage {
        pid: 7,
        job: job_hash,
        vm: vm_image,
        wait: WaitImage::Sleep { until_ms: 0 },
        mailbox: vec![Data::Keyword("hello".to_string())],
        cursor: 0,
        links: vec![],
        watchers: vec![],
        watching: vec![],
        trap_exit: false,
        registered: None,
        inbox_seq: 0,
        reductions: 0,
        saved_at_ms: 0,
        files: Vec::new(),
        program: None,
    };
    (write_image(Kind::Process, &image).unwrap(), blobs)
}

/// The top-level forms of a main program still to run, after its first.
const MAIN_PROGRAM: &str = "(run)\n(def later\n  [1 (inc 2) {:a (str \"b\")}])\n(println later)\n";

/// `save` of a main process: `vm` runs the first form of [`MAIN_PROGRAM`],
/// and its image holds the others, and a submitted file.
fn save_main(vm: &Vm, globals: &Globals) -> (Vec<u8>, BTreeMap<Hash, Arc<[u8]>>) {
    let (bytes, mut blobs) = save(vm, globals);
    let mut image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    let forms = reader::read_str("<snapshot-test-main>", MAIN_PROGRAM).unwrap();
    let rest: Vec<(Value, crate::span::Span)> = forms
        .forms
        .into_iter()
        .zip(forms.form_spans)
        .skip(1)
        .collect();
    let files = BTreeMap::from([("app/util.calf".to_string(), "(ns app.util)\n".to_string())]);
    let mut cache = ImageCache::default();
    let mut encoder = Encoder::new(&mut cache);
    let program = encoder
        .program(Sym::new(USER), &mut rest.iter(), &forms.spans)
        .unwrap();
    image.files = encoder.files(&files).unwrap();
    for hash in encoder.into_needs() {
        blobs.insert(hash, cache.blob(&hash).expect("made by this cache"));
    }
    image.program = Some(program);
    (write_image(Kind::Process, &image).unwrap(), blobs)
}

/// What a program image holds, as a fixture's `expected` says it: each
/// form with where it and its first nested collection were read, and the
/// submitted files.
fn program_listing(image: &ProcessImage, blobs: &BTreeMap<Hash, Arc<[u8]>>) -> String {
    let Some(program) = &image.program else {
        return String::new();
    };
    let mut decoder = Decoder::new(new_globals());
    let restored = decoder.program(program, blobs).unwrap();
    let mut listing = format!("in {}\n", restored.ns.name());
    for (form, span) in &restored.forms {
        let inner = restored.spans.item_span(form, 2);
        listing += &format!(
            "{} at {}, item 2 at {}\n",
            crate::value::print::pr_str(form),
            span.location(),
            inner.map_or("-".to_string(), |s| s.location())
        );
    }
    for (path, text) in Decoder::files(&image.files, blobs).unwrap() {
        listing += &format!("file {path}: {text:?}\n");
    }
    listing
}

/// The VM of a process image, restored in a fresh runtime's namespaces,
/// which it needs to run.
fn restore(
    bytes: &[u8],
    blobs: &BTreeMap<Hash, Arc<[u8]>>,
) -> Result<(Vm, Arc<Globals>), SnapshotError> {
    let image: ProcessImage = read_image(Kind::Process, bytes)?;
    restore_image(&image, blobs)
}

fn restore_image(
    image: &ProcessImage,
    blobs: &BTreeMap<Hash, Arc<[u8]>>,
) -> Result<(Vm, Arc<Globals>), SnapshotError> {
    let mut decoder = Decoder::new(new_globals());
    let Some(job_bytes) = blobs.blob(&image.job) else {
        return Err(SnapshotError::Invalid("no job image".to_string()));
    };
    decoder.job(&read_image(Kind::Job, &job_bytes)?, blobs)?;
    match decoder.vm(&image.vm, Owed::Answer, blobs)? {
        Restored::Answer(mut vm, resume) => {
            vm.resume(resume, Value::Int(ANSWER));
            Ok((vm, decoder.globals().clone()))
        }
        _ => panic!("restored owing an answer"),
    }
}

/// The VM of `(run)` stopped at its second `sleep`, inside the callback
/// `map` calls, inside `reduce`.
fn stopped_at_second_sleep() -> (Vm, Arc<Globals>) {
    stopped_at_second_sleep_of("(run)")
}

/// A VM running `expr`, stopped at its second `sleep`.
fn stopped_at_second_sleep_of(expr: &str) -> (Vm, Arc<Globals>) {
    let globals = program_globals();
    let mut vm = compile(&globals, expr);
    let first = run_to_effect(&mut vm).unwrap();
    vm.resume(first, Value::Int(ANSWER));
    let Ok(second) = run_to_effect(&mut vm) else {
        panic!("a second sleep")
    };
    // Saved owing the second answer, as a parked process is.
    let _owed = second;
    (vm, globals)
}

#[test]
fn a_vm_stopped_inside_a_map_callback_finishes_in_another_runtime() {
    let expected = finish(compile(&program_globals(), "(run)"));
    assert_eq!(expected, Value::Int(100 + 6 + 3 * ANSWER));

    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save(&vm, &globals);
    drop((vm, globals));
    let (restored, _globals) = restore(&bytes, &blobs).unwrap();
    assert_eq!(finish(restored), expected);
}

#[test]
fn a_vm_stopped_realizing_a_lazy_seq_for_a_native_finishes_in_another_runtime() {
    // `count` needs the seq whole: the VM realizes it in a frame of its own,
    // whose thunks sleep; the first item is realized already.
    let expected = finish(compile(&program_globals(), "(lazy-run)"));
    assert_eq!(expected, Value::Int(1 + ANSWER + 3 + 3 + ANSWER));
    let (vm, globals) = stopped_at_second_sleep_of("(lazy-run)");
    let (bytes, blobs) = save(&vm, &globals);
    let image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    assert!(image.vm.frames.iter().any(|f| f.code == FrameCode::Realize));
    assert!(image
        .vm
        .stack
        .iter()
        .any(|d| matches!(d, Data::Lazy { .. })));
    drop((vm, globals));
    let (restored, _globals) = restore(&bytes, &blobs).unwrap();
    assert_eq!(finish(restored), expected);
}

#[test]
fn lazy_seqs_round_trip_realized_as_far_as_they_were() {
    let globals = program_globals();
    let mut vm = compile(
        &globals,
        "(let [s (map inc (iterate inc 0))] (nth s 3) [s (cons 0 (lazy-seq nil)) (lazy-seq [1 2])])",
    );
    let value = match vm.run(u32::MAX) {
        Outcome::Done(v) => v,
        other => panic!("unexpected {other:?}"),
    };
    let mut cache = ImageCache::default();
    let mut encoder = Encoder::new(&mut cache);
    let data = encoder.value(&value).unwrap();
    let needs = encoder.into_needs();
    let blobs: BTreeMap<Hash, Arc<[u8]>> = needs
        .iter()
        .map(|h| {
            (
                *h,
                cache.blob(h).expect("every named image is in the cache"),
            )
        })
        .collect();
    let back = Decoder::new(globals.clone()).value(&data, &blobs).unwrap();
    let printed = crate::value::print::pr_str;
    assert_eq!(printed(&value), "[(1 2 3 4 ...) (0 ...) (...)]");
    assert_eq!(printed(&back), printed(&value));
    // What was not realized is realized after the restore, by the thunk saved.
    let Value::Vector(parts) = &back else {
        panic!("a vector")
    };
    let mut take = compile(&globals, "(fn [s] (vec (take 6 s)))");
    let Outcome::Done(f) = take.run(u32::MAX) else {
        panic!("a fn")
    };
    let mut vm = Vm::call(f, vec![parts[0].clone()]);
    let Outcome::Done(six) = vm.run(u32::MAX) else {
        panic!("done")
    };
    assert_eq!(printed(&six), "[1 2 3 4 5 6]");
    let mut vm = Vm::call(
        Value::Native(crate::natives::by_name("vec").unwrap()),
        vec![parts[2].clone()],
    );
    let Outcome::Done(two) = vm.run(u32::MAX) else {
        panic!("done")
    };
    assert_eq!(printed(&two), "[1 2]");
}

#[test]
fn the_saved_process_keeps_the_code_it_was_started_with() {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save(&vm, &globals);
    // The program changes after the save: the restored process does not
    // see it, as its code and namespaces come from the snapshot.
    load_pure(
        &globals,
        "<changed>",
        "(defn step [x] 0) (def offset 0)",
        Sym::new(USER),
    )
    .unwrap();
    let (restored, _globals) = restore(&bytes, &blobs).unwrap();
    assert_eq!(finish(restored), Value::Int(100 + 6 + 3 * ANSWER));
}

#[test]
fn bodies_are_encoded_once_and_images_are_deterministic() {
    let (vm, globals) = stopped_at_second_sleep();
    let (first, _) = save(&vm, &globals);
    let (second, _) = save(&vm, &globals);
    assert_eq!(first, second, "the same state gives the same bytes");
    let mut cache = ImageCache::default();
    let mut encoder = Encoder::new(&mut cache);
    encoder.vm(&vm).unwrap();
    let codes = cache.codes();
    let mut encoder = Encoder::new(&mut cache);
    encoder.vm(&vm).unwrap();
    assert_eq!(
        cache.codes(),
        codes,
        "a second save makes no new body image"
    );
    assert!(codes > 0);
}

#[test]
fn a_frame_resuming_at_the_wrong_instruction_is_refused() {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save(&vm, &globals);
    let mut image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    let top = image.vm.frames.len() - 1;
    image.vm.frames[top].pc += 1;
    let err = restore_image(&image, &blobs).err().expect("refused");
    assert!(
        matches!(&err, SnapshotError::Invalid(why) if why.contains("operands") || why.contains("never reaches")),
        "{err}"
    );
}

#[test]
fn an_operand_missing_from_the_stack_is_refused() {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save(&vm, &globals);
    let mut image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    image.vm.stack.pop();
    let err = restore_image(&image, &blobs).err().expect("refused");
    assert!(err.to_string().contains("operands"), "{err}");
}

#[test]
fn a_frame_running_another_closures_body_is_refused() {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save(&vm, &globals);
    let mut image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    let bodies: Vec<Hash> = image
        .vm
        .frames
        .iter()
        .filter_map(|f| match f.code {
            FrameCode::Body(h) => Some(h),
            FrameCode::Call(_) | FrameCode::Realize => None,
        })
        .collect();
    let top = image.vm.frames.len() - 1;
    image.vm.frames[top].code = FrameCode::Body(bodies[0]);
    assert!(restore_image(&image, &blobs).is_err());
}

#[test]
fn missing_code_is_refused_naming_the_function() {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, mut blobs) = save(&vm, &globals);
    let image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    let FrameCode::Body(top) = image.vm.frames.last().unwrap().code else {
        panic!("the top frame runs a body")
    };
    blobs.remove(&top);
    let err = restore(&bytes, &blobs).err().expect("refused");
    assert!(matches!(err, SnapshotError::MissingCode { .. }), "{err}");
    assert!(err.to_string().contains("is not in the store"), "{err}");
    assert!(
        err.to_string().contains("step"),
        "names the function: {err}"
    );
}

#[test]
fn a_missing_native_is_refused_by_name() {
    let mut decoder = Decoder::new(new_globals());
    let blobs: BTreeMap<Hash, Arc<[u8]>> = BTreeMap::new();
    let err = decoder
        .value(&Data::Native("no-such-native".to_string()), &blobs)
        .expect_err("refused");
    assert_eq!(
        err,
        SnapshotError::MissingNative("no-such-native".to_string())
    );
    assert!(err.to_string().contains("`no-such-native`"));
}

#[test]
fn a_missing_var_of_the_bundled_library_is_refused_by_name() {
    let mut decoder = Decoder::new(new_globals());
    assert!(decoder.var("calf.core/map").is_ok());
    assert!(decoder.var("calf.core//").is_ok(), "the var `/`");
    let err = decoder.var("calf.core/no-such-fn").expect_err("refused");
    assert_eq!(
        err,
        SnapshotError::MissingVar("calf.core/no-such-fn".to_string())
    );
}

#[test]
fn images_of_another_kind_or_version_are_refused() {
    let bytes = write_image(
        Kind::Source,
        &format::SourceImage {
            name: "a".to_string(),
            text: "b".to_string(),
        },
    )
    .unwrap();
    let err = read_image::<ProcessImage>(Kind::Process, &bytes)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("a source file, not a process"),
        "{err}"
    );

    let mut newer = bytes.clone();
    newer[5..7].copy_from_slice(&(format::VERSION + 1).to_be_bytes());
    let err = read_image::<format::SourceImage>(Kind::Source, &newer)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("newer than this Calf reads"),
        "{err}"
    );

    let mut older = bytes;
    older[5..7].copy_from_slice(&0u16.to_be_bytes());
    let err = read_image::<format::SourceImage>(Kind::Source, &older)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("older than this Calf reads"),
        "{err}"
    );

    let err = read_image::<ProcessImage>(Kind::Process, b"not a snapshot")
        .err()
        .unwrap();
    assert!(err.to_string().contains("header"), "{err}");
}

#[test]
fn truncated_or_garbled_bytes_are_refused_without_a_panic() {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save(&vm, &globals);
    for cut in [7, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(restore(&bytes[..cut], &blobs).is_err(), "cut at {cut}");
    }
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let mut garbled = bytes.clone();
        for _ in 0..4 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = 7 + (rng as usize) % (garbled.len() - 7);
            garbled[i] = (rng >> 32) as u8;
        }
        // Either refused or restored as a checked machine: never a panic.
        if let Ok((mut vm, _globals)) = restore(&garbled, &blobs) {
            let _ = vm.run(10_000);
        }
    }
}

#[test]
fn a_value_nested_too_deep_is_refused_when_saved() {
    let mut deep = Value::Nil;
    for _ in 0..MAX_NESTING {
        deep = Value::vector([deep]);
    }
    let mut cache = ImageCache::default();
    let err = Encoder::new(&mut cache).value(&deep).err().unwrap();
    assert_eq!(err, SnapshotError::TooDeep);
}

#[test]
fn bindings_and_captured_output_survive_a_save() {
    let globals = new_globals();
    load_pure(
        &globals,
        "<snapshot-test>",
        "(def *k* {:dynamic true} 1)
         (defn run [] (binding [*k* 5] [(with-out-str (print \"a\" *k*) (sleep 1) (print \"b\")) (+ (sleep 1) *k*)]))",
        Sym::new(USER),
    )
    .unwrap();
    let mut vm = compile(&globals, "(run)");
    let Ok(_owed) = run_to_effect(&mut vm) else {
        panic!("a sleep inside with-out-str")
    };
    let (bytes, blobs) = save(&vm, &globals);
    drop((vm, globals));
    let (restored, _globals) = restore(&bytes, &blobs).unwrap();
    assert_eq!(
        crate::value::print::pr_str(&finish(restored)),
        "[\"a 5b\" 15]"
    );
}

/// A lazy seq held in several places of a process (whole, or from one of
/// its cells on) is restored as one: its items are not computed twice,
/// and what one place realizes the others see.
#[test]
fn a_lazy_seq_held_twice_is_restored_once() {
    let (vm, globals) = stopped_at_second_sleep_of("(shared-run)");
    let (bytes, blobs) = save(&vm, &globals);
    drop((vm, globals));
    let (restored, _globals) = restore(&bytes, &blobs).unwrap();
    assert_eq!(
        crate::value::print::pr_str(&finish(restored)),
        "[true true true 10]"
    );
}

#[test]
fn a_lazy_seq_named_before_it_is_restored_is_refused() {
    let blobs: BTreeMap<Hash, Arc<[u8]>> = BTreeMap::new();
    let forged = Data::Vector(vec![Data::SharedLazy { seq: 0, after: 0 }]);
    let error = Decoder::new(new_globals()).value(&forged, &blobs).err();
    assert!(
        matches!(&error, Some(SnapshotError::Invalid(why)) if why.contains("not restored before")),
        "{error:?}"
    );
}

#[test]
fn values_round_trip() {
    let globals = program_globals();
    let value = crate::prelude::run_pure(compile(
        &globals,
        "[1 -2.5 \"text\" \"a longer text than fourteen bytes\" 'sym :kw :ns/kw \
         {:a [1 2] #{3} (list 4 5)} nil true conj \\a (sorted-map 2 :b 1 :a) \
         (sorted-set-by > 1 3 2) #\"a+b\" (assoc (->Offset 7) :extra 1) (with-meta #{1} {:m 2}) #'step]",
    ))
    .unwrap();
    let mut cache = ImageCache::default();
    let data = Encoder::new(&mut cache).value(&value).unwrap();
    let blobs: BTreeMap<Hash, Arc<[u8]>> = BTreeMap::new();
    let back = Decoder::new(globals).value(&data, &blobs).unwrap();
    // A regex is equal only to itself: the same printed form will do.
    let printed = crate::value::print::pr_str;
    assert_eq!(printed(&back), printed(&value));
    let (Value::Vector(a), Value::Vector(b)) = (&back, &value) else {
        panic!("a vector")
    };
    assert_eq!(a[a.len() - 3], b[b.len() - 3], "a record is = to its copy");
    assert_eq!(
        printed(&back),
        "[1 -2.5 \"text\" \"a longer text than fourteen bytes\" sym :kw :ns/kw \
         {:a [1 2], #{3} (4 5)} nil true #fn[conj] \\a {1 :a, 2 :b} #{3 2 1} #\"a+b\" \
         #user.Offset{:n 7, :extra 1} #{1} #'user/step]"
    );
    let meta = |v: &Value| match v {
        Value::Set(s) => s.meta().cloned(),
        _ => None,
    };
    assert_eq!(
        meta(&a[a.len() - 2]),
        meta(&b[b.len() - 2]),
        "metadata survives"
    );
    assert!(meta(&a[a.len() - 2]).is_some());
    assert_eq!(a.last(), b.last(), "a var comes back as the same var");
}

/// Where the golden snapshots are: `v<version>/<name>/` holds `process`
/// (a process image), `blobs/` (the images it names, one file each) and
/// `expected` (what it returns when every `sleep` answers [`ANSWER`]).
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");

/// Writes this version's fixture: run with `CALF_WRITE_SNAPSHOT_FIXTURES=1`
/// once when the format gets a new version; fixtures of earlier versions
/// stay as they are.
fn write_fixture(dir: &std::path::Path, expr: &str) {
    let (vm, globals) = stopped_at_second_sleep_of(expr);
    let (bytes, blobs) = save(&vm, &globals);
    std::fs::create_dir_all(dir.join("blobs")).unwrap();
    std::fs::write(dir.join("process"), bytes).unwrap();
    for (hash, blob) in blobs {
        std::fs::write(dir.join("blobs").join(hash.hex()), &blob[..]).unwrap();
    }
    let expected = crate::value::print::pr_str(&finish(compile(&globals, expr)));
    std::fs::write(dir.join("expected"), expected + "\n").unwrap();
}

/// Writes this version's fixture of a main process with its program.
fn write_main_fixture(dir: &std::path::Path) {
    let (vm, globals) = stopped_at_second_sleep();
    let (bytes, blobs) = save_main(&vm, &globals);
    std::fs::create_dir_all(dir.join("blobs")).unwrap();
    std::fs::write(dir.join("process"), &bytes).unwrap();
    for (hash, blob) in &blobs {
        std::fs::write(dir.join("blobs").join(hash.hex()), &blob[..]).unwrap();
    }
    let image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
    let expected = crate::value::print::pr_str(&Value::Int(100 + 6 + 3 * ANSWER));
    let expected = format!("{expected}\n{}", program_listing(&image, &blobs));
    std::fs::write(dir.join("expected"), expected).unwrap();
}

#[test]
fn every_fixture_of_every_version_reads_back_and_finishes() {
    let current = std::path::Path::new(FIXTURES).join(format!("v{}", format::VERSION));
    if std::env::var_os("CALF_WRITE_SNAPSHOT_FIXTURES").is_some() && !current.exists() {
        write_fixture(&current.join("sleep-inside-map"), "(run)");
        // Since version 3: stopped in the VM's realizing of a lazy seq.
        write_fixture(&current.join("sleep-inside-lazy-seq"), "(lazy-run)");
        // Since version 3: a main process with the forms it has still to run.
        write_main_fixture(&current.join("main-program"));
        // Since version 4: a var in a local of a stopped frame.
        write_fixture(&current.join("sleep-holding-a-var"), "(var-run)");
        // Since version 4: one lazy seq held in several places.
        write_fixture(
            &current.join("sleep-holding-a-shared-lazy-seq"),
            "(shared-run)",
        );
    }
    assert!(
        current.exists(),
        "no fixture of format version {}: run this test once with CALF_WRITE_SNAPSHOT_FIXTURES=1 \
         and check the files in",
        format::VERSION
    );
    let mut read = 0;
    for version in std::fs::read_dir(FIXTURES).unwrap() {
        for fixture in std::fs::read_dir(version.unwrap().path()).unwrap() {
            let dir = fixture.unwrap().path();
            let bytes = std::fs::read(dir.join("process")).unwrap();
            let mut blobs = BTreeMap::new();
            for blob in std::fs::read_dir(dir.join("blobs")).unwrap() {
                let blob: Arc<[u8]> = std::fs::read(blob.unwrap().path()).unwrap().into();
                blobs.insert(Hash::of(&blob), blob);
            }
            let expected = std::fs::read_to_string(dir.join("expected")).unwrap();
            let (vm, _globals) = restore(&bytes, &blobs)
                .unwrap_or_else(|e| panic!("{} does not restore: {e}", dir.display()));
            let image: ProcessImage = read_image(Kind::Process, &bytes).unwrap();
            let value = crate::value::print::pr_str(&finish(vm));
            let value = format!("{value}\n{}", program_listing(&image, &blobs));
            assert_eq!(value.trim(), expected.trim(), "{}", dir.display());
            read += 1;
        }
    }
    assert!(read >= 1);
}
