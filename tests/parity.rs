//! Parity with the GENA-LM authors' PyTorch code: tensors in test-data/gena-tiny (copied from
//! ../shared/reference, made by `modeling_bert.py` and `GenderChunkedClassifier`; see
//! test-data/README.md).
//!
//! Tolerances (relative to the largest reference magnitude of each tensor, so values near zero do
//! not blow the ratio up): 1e-5 for the embeddings output and the head, 1e-4 after the encoder
//! layers, as the reference README states for float32 with different summation orders.

mod common;

use common::data;

use genosift::bundle::ModelBundle;
use genosift::chunk::Chunker;
use genosift::input::{read_records, Source};
use genosift::model::weights::{RawTensor, WeightFile};
use genosift::model::{DeviceKind, Engine};
use genosift::tokenize::TokenBatch;

fn expected(p: &str) -> WeightFile {
    WeightFile::open(&data(p)).expect("reference tensors")
}

/// max |a − b| / max |b|.
fn rel_err(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "length");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    got.iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

fn ids_of(t: &RawTensor) -> Vec<u32> {
    t.data.iter().map(|&v| v as u32).collect()
}

fn tiny_inputs(bundle: &ModelBundle) -> (Vec<String>, TokenBatch) {
    let recs = read_records(&Source::Path(data("gena-tiny/inputs.fa"))).unwrap();
    let names = recs.iter().map(|r| r.name.clone()).collect();
    let batch = bundle
        .tokenizer
        .batch(recs.iter().map(|r| r.seq.as_slice()));
    (names, batch)
}

#[test]
fn tokens_match_reference_exactly() {
    let bundle = ModelBundle::open(&data("gena-tiny"), DeviceKind::Cpu).unwrap();
    let (names, batch) = tiny_inputs(&bundle);
    let tsv = std::fs::read_to_string(data("gena-tiny/tokens.tsv")).unwrap();
    let mut rows = 0;
    for (i, line) in tsv.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f[0], names[i]);
        let want: Vec<u32> = f[2].split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(f[1].parse::<usize>().unwrap(), want.len());
        assert_eq!(batch.row(i), want.as_slice(), "record {}", f[0]);
        rows += 1;
    }
    assert_eq!(rows, 8);
    // The padded batch equals the reference's input_ids and attention mask.
    let exp = expected("gena-tiny/expected.safetensors");
    assert_eq!(batch.ids, ids_of(&exp.tensors["input_ids"]));
    let mask = &exp.tensors["attention_mask"];
    for (i, &len) in batch.lengths.iter().enumerate() {
        let row = &mask.data[i * batch.seq_len..(i + 1) * batch.seq_len];
        assert_eq!(row.iter().filter(|&&m| m == 1.0).count(), len);
    }
}

fn check_backbone(weights: &str) {
    let bundle = ModelBundle::open(&data("gena-tiny"), DeviceKind::Cpu).unwrap();
    let file = WeightFile::open(&data(weights)).unwrap();
    let (engine, unused) = Engine::load(&file, &bundle.config, DeviceKind::Cpu).unwrap();
    assert!(unused.is_empty(), "unused: {unused:?}");
    let (_, batch) = tiny_inputs(&bundle);
    let exp = expected("gena-tiny/expected.safetensors");
    let states = engine.hidden_states(&batch);
    assert_eq!(states.len(), 3);
    for (i, st) in states.iter().enumerate() {
        let want = &exp.tensors[&format!("hidden_states.{i}")];
        assert_eq!(st.shape, want.shape);
        let tol = if i == 0 { 1e-5 } else { 1e-4 };
        let e = rel_err(&st.data, &want.data);
        eprintln!("{weights}: hidden_states.{i} relative error {e:.2e}");
        assert!(
            e <= tol,
            "{weights}: hidden_states.{i} relative error {e:e} > {tol:e}"
        );
    }
    let last = &exp.tensors["last_hidden_state"];
    assert!(rel_err(&states[2].data, &last.data) <= 1e-4);
    let cls = engine.cls(&batch);
    let e = rel_err(&cls, &exp.tensors["cls"].data);
    eprintln!("{weights}: cls relative error {e:.2e}");
    assert!(e <= 1e-4, "{weights}: cls relative error {e:e}");
}

#[test]
fn backbone_matches_reference_from_safetensors() {
    check_backbone("gena-tiny/model.safetensors");
}

#[test]
fn backbone_matches_reference_from_pytorch_bin() {
    check_backbone("gena-tiny/pytorch_model.bin");
}

#[test]
fn classifier_matches_reference_on_groups() {
    let bundle = ModelBundle::open(&data("gena-tiny/classifier"), DeviceKind::Cpu).unwrap();
    assert_eq!(bundle.settings.chunks, 16);
    assert_eq!(bundle.settings.chunk_len, 3072);
    let recs = read_records(&Source::Path(data("gena-tiny/classifier/groups.fa"))).unwrap();
    assert_eq!(recs.len(), 48);
    // Each record is exactly L bp, so each is one chunk, in order.
    let mut chunker = Chunker::new(3072);
    let mut chunks = Vec::new();
    for r in &recs {
        chunker.start(&r.name);
        chunker.push(&r.seq, &mut |c| {
            chunks.push(c);
            true
        });
    }
    chunks.extend(chunker.finish());
    assert_eq!(chunks.len(), 48);
    assert!(chunks
        .iter()
        .all(|c| c.n_records == 1 && c.seq.len() == 3072));
    let exp = expected("gena-tiny/classifier/expected.safetensors");
    let want_ids = &exp.tensors["input_ids"];
    let t = want_ids.shape[2];
    let batch = bundle
        .tokenizer
        .batch(chunks.iter().map(|c| c.seq.as_slice()));
    assert_eq!(batch.seq_len, t);
    assert_eq!(batch.ids, ids_of(want_ids));
    let scores = bundle.engine.predict(&batch, 16).unwrap();
    let probs: Vec<f32> = scores.iter().map(|s| s.p_female).collect();
    let e = rel_err(&probs, &exp.tensors["predictions"].data);
    eprintln!("classifier on groups.fa: predictions relative error {e:.2e}");
    assert!(e <= 1e-5, "predictions {probs:?}: relative error {e:e}");
    let s: Vec<f32> = scores.iter().flat_map(|s| s.scores.clone()).collect();
    let e = rel_err(&s, &exp.tensors["attention_scores"].data);
    assert!(e <= 1e-5, "attention scores: relative error {e:e}");
}

#[test]
fn head_alone_matches_reference() {
    let bundle = ModelBundle::open(&data("gena-tiny/classifier"), DeviceKind::Cpu).unwrap();
    let exp = expected("gena-tiny/classifier/head_only.safetensors");
    let scores = bundle.engine.head_only(&exp.tensors["cls"]).unwrap();
    assert_eq!(scores.len(), 4);
    let probs: Vec<f32> = scores.iter().map(|s| s.p_female).collect();
    let e = rel_err(&probs, &exp.tensors["predictions"].data);
    eprintln!("head alone: predictions relative error {e:.2e}");
    assert!(e <= 1e-5, "predictions: relative error {e:e}");
    let s: Vec<f32> = scores.iter().flat_map(|s| s.scores.clone()).collect();
    let e = rel_err(&s, &exp.tensors["attention_scores"].data);
    assert!(e <= 1e-5, "attention scores: relative error {e:e}");
}

#[test]
fn export_round_trips_through_safetensors() {
    use genosift::model::device::Cpu;
    use genosift::model::load::{export, load};
    let bundle = ModelBundle::open(&data("gena-tiny/classifier"), DeviceKind::Cpu).unwrap();
    let file = WeightFile::open(&data("gena-tiny/classifier/model.safetensors")).unwrap();
    let dev = Default::default();
    let l = load::<Cpu>(&file, &bundle.config, &dev).unwrap();
    let tensors = export(&l.bert, l.head.as_ref());
    // Every stored tensor comes back bit for bit under the trainer's names.
    for (k, v) in &tensors {
        assert_eq!(&file.tensors[k], v, "{k}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    genosift::model::weights::write_safetensors(&path, &tensors).unwrap();
    let back = WeightFile::open(&path).unwrap();
    assert_eq!(back.tensors, tensors);
}
