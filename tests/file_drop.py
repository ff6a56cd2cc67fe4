"""A file drop on the running local stack, as a Python user does it: upload with boto3 to the local
S3, wait until /v1/retrieve finds the document, ask /v1/rag and check the citation names it, delete
it with boto3 and check retrieval no longer returns it.

Needs the stack's data directory (QUARRY_DATA_DIR: its stack.json names the S3 and API URLs) and
the API key (QUARRY_API_KEY). Exits non-zero on the first failed check. CI runs it (.ci/run).
"""

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

DOCUMENT_KEY = "handbook/bike-shed.md"
DOCUMENT = (
    "# Bike shed\n\nBicycles are parked in the bike shed behind the cafeteria. "
    "The shed is unlocked from 7am to 8pm."
)
QUESTION = "Where are bicycles parked?"
WAIT_SECONDS = 30


def api(state, key, path, body):
    request = urllib.request.Request(
        state["api_url"] + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def retrieved_keys(state, key):
    answer = api(state, key, "/v1/retrieve", {"query": QUESTION, "k": 10})
    return [chunk["source"]["key"] for chunk in answer["chunks"]]


def wait_until(what, condition):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"FAIL {what}: not after {WAIT_SECONDS}s")
        time.sleep(0.1)
    print(f"PASS {what}")


def main():
    state = json.loads((Path(os.environ["QUARRY_DATA_DIR"]) / "stack.json").read_text())
    key = os.environ["QUARRY_API_KEY"]
    s3 = boto3.client(
        "s3",
        endpoint_url=state["s3_url"],
        region_name=state["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = state["documents_bucket"]
    s3.put_object(Bucket=bucket, Key=DOCUMENT_KEY, Body=DOCUMENT.encode(), ContentType="text/markdown")
    wait_until("the uploaded document becomes searchable", lambda: DOCUMENT_KEY in retrieved_keys(state, key))

    answer = api(state, key, "/v1/rag", {"question": QUESTION})
    cited = [citation["source"]["key"] for citation in answer["citations"]]
    if DOCUMENT_KEY not in cited or "bike shed" not in answer["answer"]:
        sys.exit(f"FAIL /v1/rag cites the document: {json.dumps(answer)}")
    print(f"PASS /v1/rag answers from the document and cites it: {answer['answer']!r}")

    s3.delete_object(Bucket=bucket, Key=DOCUMENT_KEY)
    wait_until("the deleted document leaves the index", lambda: DOCUMENT_KEY not in retrieved_keys(state, key))
    print("file_drop: passed")


if __name__ == "__main__":
    main()
