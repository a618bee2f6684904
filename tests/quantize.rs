//! `tritone quantize` on the small config (seeded weights): GPTQ lowers every calibrated layer's
//! output error below round-to-nearest's, a budget plan fits its budget, mixes formats, records
//! itself in the file and speaks; bad requests are clear errors.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bytes::Bytes;
use tritone::config::KokoroConfig;
use tritone::gguf::{GgmlType, GgufFile};
use tritone::model::checkpoint::{collect_weights, write_model};
use tritone::model::weights::{portable_param, RandomWeights};
use tritone::rng::SplitMix64;
use tritone::tts::quantize::{best_plan, sweep, Distortion, GroupCost, Method, Quantizer};
use tritone::tts::{Engine, SynthesisOptions};
use tritone::vocab;

fn tritone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tritone")).args(args).output().unwrap()
}

fn config() -> KokoroConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference/small/config.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The small config with seeded weights, F32, two voices; written once per test binary.
fn model_path() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quantize-small-f32.gguf");
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let cfg = config();
        let tokens = vocab::tokens(cfg.n_token);
        let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
        let voices = vec![
            ("af_test".to_string(), portable_param("voicepack", 510 * 256, 0, 0.3, 0.0)),
            ("am_test".to_string(), portable_param("voicepack", 510 * 256, 1, 0.3, 0.0)),
        ];
        std::fs::write(&path, write_model(&cfg, &tokens, &weights, &voices, GgmlType::F32, &mut || {}).unwrap()).unwrap();
    });
    path
}

fn phonemes(n: usize) -> Vec<String> {
    ["hˈɛlO wˈɜɹld.", "ðɪs ɪz ə tˈɛst ʌv kwˈɑntˌIzd wˈAts.", "wˈʌn, tˈu, θɹˈi, fˈɔɹ.", "ʃˈi sˈɛd, nˈɑt jˈɛt!", "hˌaʊ ˈɑɹ ju tədˈA?"]
        .iter()
        .cycle()
        .take(n)
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn gptq_lowers_the_calibrated_layers_output_error() {
    let bytes = Bytes::from(std::fs::read(model_path()).unwrap());
    let mut q = Quantizer::open(&bytes).unwrap();
    let voices = q.voice_names();
    q.calibrate(&phonemes(4), &voices, &mut || {}).unwrap();
    let matrices: Vec<(usize, String)> = q.matrices().map(|(i, n)| (i, n.to_owned())).collect();
    for ty in [GgmlType::Q4_K, GgmlType::TQ1_0] {
        let (mut ratios, mut lost) = (Vec::new(), Vec::new());
        for (i, name) in &matrices {
            let chosen = q.quantized(*i, ty, Method::Gptq).unwrap();
            let Some(r) = q.rounding(*i, ty) else { continue };
            ratios.push(r.gptq / r.nearest.max(1e-30));
            if r.gptq > r.nearest {
                lost.push(name.clone());
                // where GPTQ loses, the file gets the rounding to nearest
                assert_eq!(chosen.bytes(), q.quantized(*i, ty, Method::Nearest).unwrap().bytes(), "{name}");
            }
        }
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!("{}: {} calibrated layers, GPTQ / nearest output error median {median:.3}, GPTQ lost on {lost:?}", ty.name(), ratios.len());
        assert!(ratios.len() > 70, "{}: only {} layers calibrated", ty.name(), ratios.len());
        assert!(median < 0.6, "{}: median GPTQ / nearest output error {median}", ty.name());
        assert!(lost.len() * 10 <= ratios.len(), "{}: GPTQ lost on {} of {}", ty.name(), lost.len(), ratios.len());
    }
}

#[test]
fn a_budget_plan_fits_mixes_formats_records_itself_and_speaks() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quantize-budget.gguf");
    let report = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quantize-budget.json");
    let model = model_path();
    // Between the all-Q4_K and all-TQ1_0 sizes, so the plan must mix them.
    let run = |budget: &str| {
        tritone(&[
            "quantize", "--in", model.to_str().unwrap(), "--out", out.to_str().unwrap(), "--budget", budget, "--ladder", "q4_k,tq1_0", "--nearest",
            "--eval-sentences", "1", "--report", report.to_str().unwrap(),
        ])
    };
    let done = run("30MB");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size <= 30_000_000, "{size} bytes");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let result = &doc["budgets"][0];
    assert_eq!(result["output_bytes"].as_u64(), Some(size));
    let plan: Vec<&str> = result["plan"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert!(plan.contains(&"Q4_K") && plan.contains(&"TQ1_0"), "{plan:?}");
    // Every part has both rungs; the ones the plan uses were judged.
    for (group, chosen) in doc["sensitivity"].as_array().unwrap().iter().zip(&plan) {
        let rungs = group["rungs"].as_array().unwrap();
        assert_eq!(rungs.len(), 2, "{group}");
        let used = rungs.iter().find(|r| r["type"] == *chosen).unwrap();
        assert!(used["mel_db"].as_f64().unwrap().is_finite(), "{group}");
    }
    assert!(result["distortion"]["round-to-nearest"]["mel_db"].as_f64().unwrap() > 0.0);

    // --check judges the written file as the plan was judged.
    let check_report = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quantize-check.json");
    let checked = tritone(&["quantize", "--in", model.to_str().unwrap(), "--check", out.to_str().unwrap(), "--eval-sentences", "1", "--report", check_report.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let check: serde_json::Value = serde_json::from_slice(&std::fs::read(&check_report).unwrap()).unwrap();
    assert_eq!(check["distortion"], result["distortion"]["round-to-nearest"], "the file speaks as its plan did");
    assert_eq!(check["bytes"].as_u64(), Some(size));

    // The file says what was done, inspect shows it, and it speaks.
    let bytes = Bytes::from(std::fs::read(&out).unwrap());
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.get_str("tritone.quantization.method").unwrap(), "round-to-nearest");
    assert_eq!(file.get_u64("tritone.quantization.budget_bytes").unwrap(), 30_000_000);
    let groups = file.get_str_array("tritone.quantization.groups").unwrap();
    assert_eq!(groups.len(), plan.len());
    assert!(file.tensors().iter().filter(|t| t.name.starts_with("voices.")).all(|t| t.ggml_type == GgmlType::F16));
    let shown = tritone(&["inspect", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("quantization (\"round-to-nearest\")") && text.contains("style_fc"), "{text}");
    let engine = Engine::cpu(&bytes, "test").unwrap();
    let speech = pollster::block_on(engine.speak("hˈɛlO wˈɜɹld.", &SynthesisOptions::new("am_test"))).unwrap();
    assert!(speech.audio.len() > 1000 && speech.audio.iter().all(|v| v.is_finite()));

    // Too small for the ladder: a clear error, no file.
    std::fs::remove_file(&out).unwrap();
    let refused = run("1MB");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("below the smallest plan"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!Path::new(&out).exists());
}

#[test]
fn bad_requests_are_clear_errors() {
    let model = model_path();
    let m = model.to_str().unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quantize-bad.gguf");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["quantize", "--in", m, "--check", "/nonexistent.gguf"], "/nonexistent.gguf"),
        (&["quantize", "--in", m, "--check", m, "--out", o], "cannot be used with"),
        (&["quantize", "--in", m, "--out", o, "--type", "q4_k", "--budget", "30MB"], "cannot be used with"),
        (&["quantize", "--in", m, "--out", o, "--budget", "thirty"], "expected a size"),
        (&["quantize", "--in", "/nonexistent.gguf", "--out", o, "--type", "q4_k"], "/nonexistent.gguf"),
        (&["quantize", "--in", m, "--out", o, "--type", "q4_k", "--voice", "nobody", "--sentences", "1", "--eval-sentences", "1"], "nobody"),
        (&["quantize", "--in", m, "--out", o, "--type", "q4_k", "--sentences", "400"], "sentences"),
    ];
    for (args, expected) in cases {
        let run = tritone(args);
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success() && err.contains(expected), "{args:?}: {err}");
    }
    assert!(!out.exists());
}

/// `weights` with every matrix whose name `change` picks scaled by `factor`.
fn scale_matrices(weights: &[(String, tritone::backend::Weight)], factor: f32, change: &dyn Fn(&str) -> bool) -> Vec<(String, tritone::backend::Weight)> {
    use tritone::backend::Weight;
    weights
        .iter()
        .map(|(n, w)| {
            let w = if w.shape().len() >= 2 && change(n) { Weight::f32(w.shape(), w.to_f32().iter().map(|v| v * factor).collect()).unwrap() } else { w.clone() };
            (n.clone(), w)
        })
        .collect()
}

/// The sensitivity sweep skips duration prediction for parts that `shapes_durations` says do
/// not reach it: scaling every other matrix leaves the durations as they were, and scaling
/// one matrix it names moves them. Parts inside the decoder start from the input model's
/// decoder inputs: the two halves speak as the whole.
#[test]
fn durations_depend_only_on_the_tensors_named_for_them_and_the_decoder_starts_from_its_inputs() {
    use tritone::backend::{CpuBackend, Weight};
    use tritone::model::checkpoint::MapSource;
    use tritone::model::kokoro::Kokoro;
    use tritone::tts::quantize::shapes_durations;
    let cfg = config();
    let tokens = vocab::tokens(cfg.n_token);
    let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
    let scaled = |keep: &dyn Fn(&str) -> bool| scale_matrices(&weights, 1.7, &|n| !keep(n));
    let durations = |ws: Vec<(String, Weight)>| {
        let b = CpuBackend::default();
        let model = Kokoro::load(&b, &MapSource::from_weights(ws), cfg.clone(), &tokens).unwrap();
        let style: Vec<f32> = (0..256).map(|i| ((i as f32) * 0.37).sin() * 0.3).collect();
        phonemes(3).iter().map(|p| pollster::block_on(model.predict_durations(&b, &model.tokenize(p).unwrap(), &style, 1.0)).unwrap()).collect::<Vec<_>>()
    };
    let original = durations(weights.clone());
    // The decoder started from another run's inputs speaks exactly as the whole model does.
    {
        let b = CpuBackend::default();
        let model = Kokoro::load(&b, &MapSource::from_weights(weights.clone()), cfg.clone(), &tokens).unwrap();
        let ids = model.tokenize(&phonemes(2)[1]).unwrap();
        let style: Vec<f32> = (0..256).map(|i| ((i as f32) * 0.11).cos() * 0.3).collect();
        let frames: Vec<usize> = (0..ids.len()).map(|i| 1 + i % 3).collect();
        let whole = pollster::block_on(model.synthesize_with_durations(&b, &ids, &style, &frames, 7)).unwrap();
        let inputs = pollster::block_on(model.decoder_inputs(&b, &ids, &style, &frames)).unwrap();
        let halves = pollster::block_on(model.decode(&b, &inputs, &style, 7)).unwrap();
        assert!(whole.audio.len() > 1000);
        assert_eq!(halves.audio, whole.audio);
        assert_eq!(halves.durations, frames);
    }
    assert_eq!(durations(scaled(&shapes_durations)), original, "a matrix past the duration head moved the durations");
    assert_ne!(durations(scaled(&|n| !n.starts_with("predictor.duration_proj"))), original, "the test cannot tell");
    assert!(weights.iter().any(|(n, _)| shapes_durations(n)) && weights.iter().any(|(n, w)| w.shape().len() >= 2 && !shapes_durations(n)));
}

/// A model that differs from another only in weights a generator point's run still uses
/// ([`Point::using`]) speaks, from the other's activations there, exactly as it speaks whole;
/// a weight used before the point makes them differ.
#[test]
fn the_generator_restarts_where_its_later_weights_begin() {
    use tritone::backend::{CpuBackend, Weight};
    use tritone::model::checkpoint::MapSource;
    use tritone::model::generator::Point;
    use tritone::model::kokoro::Kokoro;
    let cfg = config();
    let tokens = vocab::tokens(cfg.n_token);
    let resblocks = cfg.istftnet.resblock_kernel_sizes.len();
    let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
    let b = CpuBackend::default();
    let load = |ws: Vec<(String, Weight)>| Kokoro::load(&b, &MapSource::from_weights(ws), cfg.clone(), &tokens).unwrap();
    let scaled = |change: &dyn Fn(&str) -> bool| scale_matrices(&weights, 0.8, change);
    let original = load(weights.clone());
    let ids = original.tokenize(&phonemes(2)[1]).unwrap();
    let style: Vec<f32> = (0..256).map(|i| ((i as f32) * 0.11).cos() * 0.3).collect();
    let frames: Vec<usize> = (0..ids.len()).map(|i| 1 + i % 3).collect();
    let inputs = pollster::block_on(original.decoder_inputs(&b, &ids, &style, &frames)).unwrap();
    let mut at = pollster::block_on(original.generator_inputs(&b, &inputs, &style, 7)).unwrap();
    let points: Vec<Point> = (0..cfg.istftnet.upsample_rates.len()).map(Point::Stage).chain([Point::Post]).collect();
    for (k, &point) in points.iter().enumerate() {
        if k > 0 {
            at = original.advance(&b, &at, &style, point).unwrap();
        }
        assert_eq!(at.at(), point);
        let later = load(scaled(&|n| Point::using(n, resblocks).is_some_and(|p| p >= point)));
        let whole = pollster::block_on(later.synthesize_with_durations(&b, &ids, &style, &frames, 7)).unwrap();
        let restarted = pollster::block_on(later.generate(&b, &at, &style)).unwrap();
        assert!(whole.audio.len() > 1000);
        assert!(restarted.audio == whole.audio, "from {point:?}: the restart speaks otherwise");
        if k > 0 {
            let earlier = load(scaled(&|n| Point::using(n, resblocks).is_some_and(|p| p >= points[k - 1])));
            let whole = pollster::block_on(earlier.synthesize_with_durations(&b, &ids, &style, &frames, 7)).unwrap();
            assert!(pollster::block_on(earlier.generate(&b, &at, &style)).unwrap().audio != whole.audio, "the test cannot tell at {point:?}");
        }
    }
    assert_eq!(Point::using("decoder.generator.resblocks.4.convs1.0.weight", 3), Some(Point::Stage(1)));
    assert_eq!(Point::using("decoder.generator.noise_res.1.convs2.2.weight", 3), Some(Point::Stage(1)));
    assert_eq!(Point::using("decoder.generator.conv_post.weight", 3), Some(Point::Post));
    assert_eq!(Point::using("decoder.decode.3.conv1.weight", 3), None);
    assert_eq!(Point::using("decoder.generator.m_source.l_linear.weight", 3), None);
}

/// Synthetic costs: 6 groups × 3–4 rungs, each smaller and worse than the one before.
fn synthetic_costs(rng: &mut SplitMix64) -> Vec<GroupCost> {
    let types = [GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q2_K, GgmlType::TQ1_0];
    (0..6)
        .map(|g| {
            let (mut size, mut db) = (1_000_000 + (rng.next_u64() % 3_000_000) as usize, 0.05 * rng.uniform().abs() as f64);
            let rungs = (0..3 + g % 2)
                .map(|r| {
                    let rung = (types[r], size, Some(Distortion { mel_db: db, durations_moved: 0.0 }));
                    size = size * (40 + (rng.next_u64() % 40) as usize) / 100;
                    db += 0.1 + 2.0 * rng.uniform().abs() as f64;
                    rung
                })
                .collect();
            GroupCost { group: "synthetic", members: vec![], rungs }
        })
        .collect()
}

/// Bytes of the rungs `plan` picks (one index per group).
fn bytes_of(costs: &[GroupCost], plan: &[usize]) -> usize {
    costs.iter().zip(plan).map(|(c, &r)| c.rungs[r].1).sum()
}

/// The budget plan is the best one: against every combination of rungs (synthetic costs), no
/// plan that fits has a lower sum of squared scores, and the plan fits.
#[test]
fn the_budget_plan_is_the_least_distortion_that_fits() {
    let bytes = Bytes::from(std::fs::read(model_path()).unwrap());
    let q = Quantizer::open(&bytes).unwrap();
    let mut rng = SplitMix64(3);
    for trial in 0..20 {
        let costs = synthetic_costs(&mut rng);
        let score = |plan: &[usize]| costs.iter().zip(plan).map(|(c, &r)| c.rungs[r].2.as_ref().unwrap().mel_db.powi(2)).sum::<f64>();
        let smallest = bytes_of(&costs, &costs.iter().map(|c| c.rungs.len() - 1).collect::<Vec<_>>());
        let largest = bytes_of(&costs, &vec![0; costs.len()]);
        let fixed = q.plan_budget(&costs, 200_000_000).unwrap().estimated_bytes - largest;
        let budget = fixed + smallest + (largest - smallest) * (trial + 1) / 22;
        let plan = q.plan_budget(&costs, budget).unwrap();
        let chosen: Vec<usize> = costs.iter().zip(&plan.groups).map(|(c, (_, t))| c.rungs.iter().position(|r| r.0 == *t).unwrap()).collect();
        assert!(fixed + bytes_of(&costs, &chosen) <= budget && plan.estimated_bytes == fixed + bytes_of(&costs, &chosen));
        // every combination (at most 4^6)
        let mut best = f64::INFINITY;
        let mut combo = vec![0usize; costs.len()];
        loop {
            // sizes rounded up to KiB as the plan counts them, so both see the same budget
            if fixed + costs.iter().zip(&combo).map(|(c, &r)| c.rungs[r].1.div_ceil(1024) * 1024).sum::<usize>() <= budget {
                best = best.min(score(&combo));
            }
            let Some(g) = (0..costs.len()).find(|&g| combo[g] + 1 < costs[g].rungs.len()) else { break };
            combo[g] += 1;
            combo[..g].fill(0);
        }
        assert!((score(&chosen) - best).abs() <= 1e-9 * best.max(1.0), "trial {trial}: plan {:.4} vs best {best:.4}", score(&chosen));
    }
}

/// The sweep judges only the rungs some budget's best plan could use, and its plans are the
/// plans of judging every rung; without budgets it judges every rung.
#[test]
fn the_sweep_judges_what_the_budgets_need_and_plans_as_judging_everything() {
    let mut rng = SplitMix64(5);
    let fixed = 2_000_000;
    let (mut judged, mut every) = (0, 0);
    for trial in 0..20 {
        let truth = synthetic_costs(&mut rng);
        let unjudged = || -> Vec<GroupCost> { truth.iter().map(|c| GroupCost { rungs: c.rungs.iter().map(|&(t, b, _)| (t, b, None)).collect(), ..c.clone() }).collect() };
        let smallest = bytes_of(&truth, &truth.iter().map(|c| c.rungs.len() - 1).collect::<Vec<_>>());
        let largest = bytes_of(&truth, &vec![0; truth.len()]);
        let budgets: Vec<usize> = [0.15, 0.4, 0.7].iter().map(|f| fixed + smallest + ((largest - smallest) as f64 * (f + 0.01 * trial as f64)) as usize).collect();
        let mut lazy = unjudged();
        sweep(&mut lazy, fixed, Some(&budgets), |round: &[(usize, usize)]| {
            judged += round.len();
            Ok(round.iter().map(|&(g, r)| truth[g].rungs[r].2.unwrap()).collect())
        })
        .unwrap();
        for &budget in &budgets {
            let (got, want) = (best_plan(&lazy, fixed, budget).unwrap(), best_plan(&truth, fixed, budget).unwrap());
            assert_eq!(got.groups, want.groups, "trial {trial}, budget {budget}");
            assert_eq!(got.predicted_mel_db, want.predicted_mel_db);
        }
        let rungs = truth.iter().map(|c| c.rungs.len()).sum::<usize>();
        every += rungs;
        let mut all = unjudged();
        sweep(&mut all, fixed, None, |round: &[(usize, usize)]| Ok(round.iter().map(|&(g, r)| truth[g].rungs[r].2.unwrap()).collect())).unwrap();
        assert!(all.iter().flat_map(|c| &c.rungs).zip(truth.iter().flat_map(|c| &c.rungs)).all(|(a, t)| a.2 == t.2));
    }
    println!("judged {judged} of {every} rungs");
    assert!(judged < every, "judged all {every}: the sweep should skip rungs no plan wants");
}
