//! Retrieval through the Router: `/v1/retrieve`, `/v1/rag` (whole and streamed) and the
//! `quarry.rag` extension of `/v1/chat/completions`, over an SQLite vector store on a temp file
//! holding three small documents — extracted and chunked as ingest does, embedded by the local
//! endpoint's Titan Text Embeddings V2 as `search_document`s. The local extractive model answers
//! by quoting the passages most relevant to the question and cites `[n]` for sentences under
//! numbered sources, so a grounded answer must quote the right document and cite it.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use quarry::bedrock::{self, EmbedOptions};
use quarry::chat::{StreamEvent, collect_events};
use quarry::embed::EmbedRequest;
use quarry::model::ModelId;
use quarry::prompt::PromptTemplates;
use quarry::retrieval::NO_MATCH_ANSWER;
use quarry::text::{ChunkSettings, DocumentRef, S3Object, chunk, extract};
use quarry::vector::{Sequencer, SqliteStore, StoredChunk, StoredDocument, VectorStore};
use serde_json::{Value, json};
use tempfile::TempDir;

const BUCKET: &str = "docs";
const OFFICE_KEY: &str = "handbook/office.md";
const PARKING_KEY: &str = "handbook/parking.txt";
const EXPENSES_KEY: &str = "finance/expenses.txt";
const OFFICE_PASSAGE: &str = "The office opens at 9am and closes at 6pm on weekdays.";

/// The three documents: (key, body).
const DOCUMENTS: [(&str, &str); 3] = [
    (
        OFFICE_KEY,
        "# Office hours\n\nThe office opens at 9am and closes at 6pm on weekdays. Visitors sign in at the front desk.",
    ),
    (PARKING_KEY, "Parking is free for visitors in the north garage. Staff park on level two."),
    (
        EXPENSES_KEY,
        "Travel expenses are reimbursed within thirty days. Submit receipts through the finance portal.",
    ),
];

/// The test API with retrieval over a store holding `documents` (the temp dir must outlive it).
async fn indexed(documents: &[(&str, &str)]) -> (TestApi, TempDir) {
    let api = TestApi::default().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(dir.path().join("vectors.db"), EMBEDDING_DIMENSIONS)
        .expect("the store opens");
    let model: ModelId = EMBEDDING_MODEL.parse().expect("a model id");
    let settings = ChunkSettings::new(1_000, 100).expect("chunk settings");
    for (key, body) in documents {
        let object = S3Object {
            source: DocumentRef::new(BUCKET, *key),
            content_type: None,
            user_metadata: BTreeMap::new(),
            body: body.as_bytes().to_vec(),
        };
        let document = extract(&object, 1 << 20).expect("the document extracts");
        let chunks = chunk(&document, &settings).expect("the document chunks");
        let request = EmbedRequest {
            dimensions: Some(EMBEDDING_DIMENSIONS as u32),
            ..EmbedRequest::documents(chunks.iter().map(|c| c.text.clone()).collect())
        };
        let vectors =
            bedrock::embed(api.state.bedrock(), &model, &request, &EmbedOptions::default())
                .await
                .expect("the local endpoint embeds")
                .vectors;
        let stored = chunks.into_iter().zip(vectors).map(|(c, v)| StoredChunk::new(c, v));
        let sequencer = Sequencer::new("0062E5C4D2B1A39A01").expect("a sequencer");
        store
            .replace_document(&StoredDocument::new(&document, sequencer), stored.collect())
            .await
            .expect("the document is stored");
    }
    let templates = PromptTemplates::builtin().expect("the built-in templates parse");
    let state = api.state.clone().with_retrieval(Arc::new(store), templates);
    let api = api.with_state(state);
    api.faults(""); // count only the calls the tests make
    (api, dir)
}

fn keys(chunks: &Value) -> Vec<String> {
    chunks
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["source"]["key"].as_str().expect("a key").to_owned())
        .collect()
}

#[tokio::test]
async fn retrieve_finds_the_right_document_first_with_its_source_and_score() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let answer = api.post("/v1/retrieve", &json!({"query": OFFICE_QUESTION, "k": 2})).await;
    let body = answer.expect_status(200).json();
    assert!(body["id"].is_string());
    let chunks = &body["chunks"];
    assert_eq!(keys(chunks).len(), 2, "k = 2: {body}");
    let first = &chunks[0];
    assert_eq!(first["source"], json!({"bucket": BUCKET, "key": OFFICE_KEY}));
    assert!(first["text"].as_str().is_some_and(|t| t.contains(OFFICE_PASSAGE)), "{first}");
    assert_eq!(first["title"], "Office hours");
    assert_eq!(first["content_type"], "text/markdown");
    assert_eq!(first["id"], DocumentRef::new(BUCKET, OFFICE_KEY).chunk_id(0));
    let scores: Vec<f64> = chunks
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["score"].as_f64().expect("a score"))
        .collect();
    assert!(scores[0] > scores[1], "best first: {scores:?}");
    assert_eq!(api.bedrock_calls(), 1, "one embedding call");

    let parking =
        api.post("/v1/retrieve", &json!({"query": "Is parking free for visitors?"})).await;
    let parking = parking.expect_status(200).json();
    assert_eq!(keys(&parking["chunks"]).len(), 3, "k defaults to 5; three chunks exist");
    assert_eq!(keys(&parking["chunks"])[0], PARKING_KEY);
    let one = api.post("/v1/retrieve", &json!({"query": "parking", "k": 1})).await.json();
    assert_eq!(keys(&one["chunks"]), [PARKING_KEY]);
}

#[tokio::test]
async fn retrieve_honours_each_filter() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let search = |filter: Value| json!({"query": OFFICE_QUESTION, "filter": filter});
    for (filter, expected) in [
        (json!({"key_prefix": "finance/"}), vec![EXPENSES_KEY]),
        (json!({"key_prefix": "handbook/p"}), vec![PARKING_KEY]),
        (json!({"content_type": "text/markdown"}), vec![OFFICE_KEY]),
        (json!({"bucket": "elsewhere"}), vec![]),
        (json!({"bucket": BUCKET, "key_prefix": "handbook/"}), vec![OFFICE_KEY, PARKING_KEY]),
    ] {
        let answer = api.post("/v1/retrieve", &search(filter.clone())).await;
        let body = answer.expect_status(200).json();
        assert_eq!(keys(&body["chunks"]), expected, "filter {filter}");
    }
}

#[tokio::test]
async fn rag_quotes_the_right_passage_and_cites_its_document() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let answer = api.post("/v1/rag", &json!({"question": OFFICE_QUESTION, "model": "fast"})).await;
    let body = answer.expect_status(200).json();
    assert_eq!(body["model"], NOVA_LITE);
    let text = body["answer"].as_str().expect("an answer");
    assert!(text.contains(OFFICE_PASSAGE), "{text}");
    assert!(text.contains("[1]"), "the answer cites its source: {text}");
    let citations = body["citations"].as_array().expect("citations");
    assert_eq!(citations.len(), 1, "{body}");
    let office_chunk = DocumentRef::new(BUCKET, OFFICE_KEY).chunk_id(0);
    assert_eq!(citations[0]["number"], 1);
    assert_eq!(citations[0]["source"], json!({"bucket": BUCKET, "key": OFFICE_KEY}));
    assert_eq!(citations[0]["chunk_id"], office_chunk);
    assert_eq!(citations[0]["title"], "Office hours");
    assert!(citations[0]["score"].is_number());
    // The model was given every retrieved chunk, numbered best first.
    let sources = body["sources"].as_array().expect("sources");
    let numbers: Vec<u64> = sources.iter().map(|s| s["number"].as_u64().expect("n")).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(sources[0]["chunk_id"], office_chunk);
    assert!(sources[0]["text"].as_str().is_some_and(|t| t.contains(OFFICE_PASSAGE)));
    assert_eq!(body["dropped_sources"], json!([]));
    assert_eq!(body["invalid_citations"], json!([]));
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["usage"]["input_tokens"].as_u64().is_some_and(|n| n > 0), "{body}");
    assert_eq!(api.bedrock_calls(), 2, "one embedding and one model call");
}

#[tokio::test]
async fn rag_reports_citation_numbers_that_name_no_source() {
    // The passage itself carries a bracketed number the extractive model quotes verbatim.
    let documents = [(OFFICE_KEY, "The office opens at 9am, as the lease says [7].")];
    let (api, _dir) = indexed(&documents).await;
    let body = api.post("/v1/rag", &json!({"question": OFFICE_QUESTION})).await.json();
    assert!(body["answer"].as_str().is_some_and(|a| a.contains("[7]")), "{body}");
    let invalid: Vec<u64> = body["invalid_citations"]
        .as_array()
        .expect("invalid citations")
        .iter()
        .map(|i| i["number"].as_u64().expect("a number"))
        .collect();
    assert_eq!(invalid, [7]);
    assert_eq!(body["citations"][0]["source"]["key"], OFFICE_KEY);
}

#[tokio::test]
async fn streamed_rag_folds_to_the_same_answer_and_ends_with_its_citations() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let question = json!({"question": OFFICE_QUESTION, "model": "fast"});
    let whole = api.post("/v1/rag", &question).await.json();
    let mut streamed = question;
    streamed["stream"] = json!(true);
    let answer = api.post("/v1/rag", &streamed).await;
    answer.expect_status(200);
    let sse = answer.sse_events();
    let (done, rest) = sse.split_last().expect("events");
    assert_eq!(done.data, "[DONE]");
    let (citations, rest) = rest.split_last().expect("a citations event");
    assert_eq!(citations.name.as_deref(), Some("citations"));
    let events: Vec<StreamEvent> = rest
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or_else(|err| panic!("{err}: {}", e.data)))
        .collect();
    let deltas = events.iter().filter(|e| matches!(e, StreamEvent::ContentBlockDelta { .. }));
    assert!(deltas.count() > 1, "the answer arrives in pieces");
    assert_eq!(collect_events(&events).text(), whole["answer"].as_str().expect("answer"));
    let report: Value = serde_json::from_str(&citations.data).expect("JSON");
    for field in ["citations", "invalid_citations", "sources", "dropped_sources"] {
        assert_eq!(report[field], whole[field], "{field}");
    }
}

#[tokio::test]
async fn without_a_matching_document_rag_says_so_without_calling_a_model() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let nowhere = json!({"question": OFFICE_QUESTION, "filter": {"bucket": "elsewhere"}});
    let body = api.post("/v1/rag", &nowhere).await.expect_status(200).json();
    assert_eq!(body["answer"], NO_MATCH_ANSWER);
    assert_eq!(body["citations"], json!([]));
    assert_eq!(body["sources"], json!([]));
    assert_eq!(body["usage"]["total_tokens"], 0);
    assert_eq!(api.bedrock_calls(), 1, "the embedding call only");

    let mut streamed = nowhere;
    streamed["stream"] = json!(true);
    let events = api.post("/v1/rag", &streamed).await.sse_events();
    let names: Vec<Option<&str>> = events.iter().map(|e| e.name.as_deref()).collect();
    assert_eq!(names[names.len() - 2], Some("citations"), "{events:?}");
    assert_eq!(events.last().map(|e| e.data.as_str()), Some("[DONE]"));
    assert!(events.iter().any(|e| e.data.contains("No indexed document matches")));
}

fn rag_chat(rag: Value) -> Value {
    json!({
        "model": "fast",
        "messages": [{"role": "user", "content": OFFICE_QUESTION}],
        "quarry": {"rag": rag}
    })
}

#[tokio::test]
async fn chat_completions_with_quarry_rag_answer_with_citations() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let answer = api.post("/v1/chat/completions", &rag_chat(json!({"k": 2}))).await;
    let body = answer.expect_status(200).json();
    assert_eq!(body["object"], "chat.completion");
    let content = body["choices"][0]["message"]["content"].as_str().expect("content");
    assert!(content.contains(OFFICE_PASSAGE) && content.contains("[1]"), "{content}");
    let quarry = &body["quarry"];
    assert_eq!(quarry["citations"][0]["source"]["key"], OFFICE_KEY, "{body}");
    assert_eq!(quarry["sources"].as_array().map(Vec::len), Some(2), "k = 2");

    // A plain chat completion has no `quarry` object.
    let plain = api.post("/v1/chat/completions", &office_chat("fast")).await.json();
    assert!(plain.get("quarry").is_none(), "{plain}");
}

#[tokio::test]
async fn streamed_chat_completions_end_with_a_quarry_chunk_before_done() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let whole = api.post("/v1/chat/completions", &rag_chat(json!({}))).await.json();
    let mut streamed = rag_chat(json!({}));
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let data = api.post("/v1/chat/completions", &streamed).await.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> =
        data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).expect("JSON")).collect();
    let (last, rest) = chunks.split_last().expect("chunks");
    assert_eq!(last["object"], "chat.completion.chunk");
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["quarry"], whole["quarry"]);
    assert!(rest.iter().all(|c| c.get("quarry").is_none()));
    assert!(rest.last().is_some_and(|c| c["usage"]["total_tokens"].is_number()), "usage chunk");
    let content: String =
        rest.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, whole["choices"][0]["message"]["content"].as_str().expect("content"));
}

#[tokio::test]
async fn the_quarry_extension_refuses_unknown_keys_and_bad_values_by_name() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let mut unknown = office_chat("fast");
    unknown["quarry"] = json!({"rga": {}});
    for (body, param) in [
        (unknown, "quarry.rga"),
        (rag_chat(json!({"top_k": 3})), "quarry.rag.top_k"),
        (rag_chat(json!({"k": 0})), "quarry.rag.k"),
        (rag_chat(json!({"filter": {"prefix": "a/"}})), "quarry.rag.filter.prefix"),
        (rag_chat(json!({"filter": {"bucket": ""}})), "quarry.rag.filter.bucket"),
    ] {
        let error = api.post("/v1/chat/completions", &body).await.error(400);
        assert_eq!(error["param"], param, "{error}");
        assert!(error["message"].as_str().is_some_and(|m| m.starts_with(param)), "{error}");
    }
    let mut ends_with_assistant = rag_chat(json!({}));
    ends_with_assistant["messages"]
        .as_array_mut()
        .expect("messages")
        .push(json!({"role": "assistant", "content": "Let me look."}));
    let error = api.post("/v1/chat/completions", &ends_with_assistant).await.error(400);
    assert_eq!(error["param"], "messages");
    assert_eq!(api.bedrock_calls(), 0, "nothing is sent for a refused request");
}

#[tokio::test]
async fn bad_k_and_filters_are_400_naming_the_field() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    for (body, param) in [
        (json!({"query": "office", "k": 0}), "k"),
        (json!({"query": "office", "k": 101}), "k"),
        (json!({"query": "office", "k": -1}), "k"),
        (json!({"query": "office", "filter": {"keyPrefix": "a/"}}), "filter.keyPrefix"),
        (json!({"query": "office", "filter": {"content_type": ""}}), "filter.content_type"),
        (json!({"query": "office", "filter": {"bucket": 7}}), "filter.bucket"),
        (json!({"query": " "}), "query"),
        (json!({"query": "office", "top_k": 3}), "top_k"),
    ] {
        let error = api.post("/v1/retrieve", &body).await.error(400);
        assert_eq!(error["param"], param, "{body}: {error}");
    }
    let error = api.post("/v1/rag", &json!({"question": "office", "k": 500})).await.error(400);
    assert_eq!(error["param"], "k");
    let error = api.post("/v1/rag", &json!({"question": ""})).await.error(400);
    assert_eq!(error["param"], "question");
    let error = api.post("/v1/retrieve", &json!({"k": 2})).await.error(400);
    assert!(error["message"].as_str().is_some_and(|m| m.contains("query")), "{error}");
    assert_eq!(api.bedrock_calls(), 0);
}

#[tokio::test]
async fn a_model_that_is_not_allowed_is_403_before_anything_is_spent() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    let opus = "anthropic.claude-3-opus-20240229-v1:0";
    let error = api.post("/v1/rag", &json!({"question": OFFICE_QUESTION, "model": opus})).await;
    let error = error.error(403);
    assert_eq!(error["code"], "model_not_allowed");
    let mut chat = rag_chat(json!({}));
    chat["model"] = json!(opus);
    api.post("/v1/chat/completions", &chat).await.error(403);
    assert_eq!(api.bedrock_calls(), 0, "no embedding call for a refused model");
}

#[tokio::test]
async fn a_throttled_embedding_is_429_with_retry_after() {
    let (api, _dir) = indexed(&DOCUMENTS).await;
    api.faults("throttle_every=1");
    for (path, body) in [
        ("/v1/retrieve", json!({"query": OFFICE_QUESTION})),
        ("/v1/rag", json!({"question": OFFICE_QUESTION})),
        ("/v1/chat/completions", rag_chat(json!({}))),
    ] {
        let answer = api.post(path, &body).await;
        let error = answer.error(429);
        assert_eq!(error["type"], "rate_limit_error", "{path}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains(EMBEDDING_MODEL)), "{error}");
        let retry_after = answer.headers.get("retry-after").and_then(|v| v.to_str().ok());
        assert!(retry_after.is_some_and(|s| s.parse::<u32>().is_ok()), "{path}: {retry_after:?}");
    }
}

#[tokio::test]
async fn without_a_vector_store_retrieval_is_503() {
    let api = TestApi::default().await;
    for (path, body) in [
        ("/v1/retrieve", json!({"query": OFFICE_QUESTION})),
        ("/v1/rag", json!({"question": OFFICE_QUESTION})),
        ("/v1/chat/completions", rag_chat(json!({}))),
    ] {
        let error = api.post(path, &body).await.error(503);
        assert_eq!(error["code"], "retrieval_unavailable", "{path}");
        assert!(error["message"].as_str().is_some_and(|m| m.contains("vector store")), "{error}");
    }
    assert_eq!(api.bedrock_calls(), 0);
    // The other routes do not need one.
    api.post("/v1/chat/completions", &office_chat("fast")).await.expect_status(200);
}
