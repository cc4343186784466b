"""The OpenAPI document is the contract: schemathesis drives the real gateway with requests
generated from its own /openapi.json and checks every answer against the document.

The gateway runs in-process (schemathesis' ASGI client runs its lifespan) on the real gRPC
services. Every phase runs (examples, coverage, fuzzing, stateful) with every built-in check,
a bounded number of examples per operation and a fixed seed.

Generated uploads are random bytes, not photos, so schemathesis' "valid" request to an
operation that takes an upload is refused 400: a JSON schema cannot say "a decodable photo
with a face". For those operations only, ``positive_data_acceptance`` also expects 400, and
``upload_content_only`` checks that such a 400 is about the upload's content (its code) or a
rule between two fields that the document states in words, never a parameter the document
could have described. The gateway reports a malformed parameter before an upload's content,
so a parameter the document and the parser disagree on still shows on these operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.engine import Status, events
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import negative_data_rejection

from gateway.main import create_app
from services.shared.model_store import ModelStore
from tests.gateway.conftest import gateway_settings
from tests.services.liveness.helpers import running_liveness

MAX_EXAMPLES = 8
STATEFUL_MAX_STEPS = 20
SEED = 20261205
CONTENT_CODES = frozenset({"INVALID_IMAGE", "INVALID_VIDEO", "NO_FACE", "LOW_QUALITY"})
"""Why a well-formed request with an upload can still be refused: what the upload holds."""
STATED_RULES = (
    "frame_times_ms has ",
    "frame_times_ms must not decrease",
    "send photos or group_id with face_tokens, not both",
)
"""Rules between two fields that the document states in words (frame_times_ms: "one per frame,
not decreasing"): a JSON schema cannot compare two fields; or in a ``oneOf`` that schemathesis'
multipart generation does not follow (/clusters: photos, or group_id with face_tokens)."""
POSITIVE_STATUSES = ["2xx", "401", "403", "404", "409", "429"]
DRAWN_PHASES = ("examples", "coverage", "fuzzing")
NO_RESPONSE_DATA = {"responses": False}
"""schemathesis' default for positive_data_acceptance less 3xx and 5xx: the gateway sends
neither to a well-formed request."""


def is_file(schema: dict[str, Any]) -> bool:
    """A multipart file field, or a list of them."""
    items = schema.get("items")
    return schema.get("format") == "binary" or (isinstance(items, dict) and is_file(items))


def upload_paths(document: dict[str, Any]) -> set[str]:
    """Paths of the operations whose multipart body has a file field."""
    found = set()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            form = content.get("multipart/form-data", {}).get("schema", {})
            if any(is_file(field) for field in form.get("properties", {}).values()):
                found.add(path)
    return found


MISSING = object()


def mutated_value(case: Any, mutation: Any) -> Any:
    """The value a negative case sent where ``mutation`` changed it (MISSING if not found)."""
    value: Any = {"body": case.body, "query": case.query}.get(mutation.parameter_location.value)
    if not mutation.path:
        return MISSING
    try:
        for step in mutation.path:
            value = value[step]
    except (KeyError, IndexError, TypeError):
        return MISSING
    return value


@schemathesis.check
def negative_data_rejected_unless_blank(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' ``negative_data_rejection``, except for a case whose every mutation made a
    value blank: an empty query or form value means "not given" (docs/api.md), so a 200 to it
    is the documented answer, not invalid data accepted."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    mutations = getattr(data, "mutations", ())
    if mutations and all(mutated_value(case, mutation) == "" for mutation in mutations):
        return None
    return negative_data_rejection(ctx, response, case)


@schemathesis.check
def upload_content_only(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 400 to a well-formed request is about the upload's content (CONTENT_CODES) or a rule
    the document states in words (STATED_RULES)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    error = response.json()["error"]
    if error["code"] not in CONTENT_CODES and not error["message"].startswith(STATED_RULES):
        raise Failure(
            operation=case.operation.label,
            title="Well-formed request refused",
            message=f"400 {error['code']}: {error['message']}",
        )
    return None


def contract_config(key: str, uploads: set[str]) -> SchemathesisConfig:
    """Every phase and check; 400 is a valid answer only where a photo is uploaded."""
    content_checks = {
        "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "400"]}
    }
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"x-api-key": key},
            # No example database: examples saved by earlier runs (other seeds, other code)
            # would be replayed, and the run would no longer be the one this seed gives.
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            # Only values drawn from the document: a value reused from a response (an error
            # message as a group_id) is not a well-formed request that upload_content_only
            # may judge, and which responses a run reuses varies with the services' state.
            "phases": {
                "stateful": {"max-steps": STATEFUL_MAX_STEPS},
                **{phase: {"extra-data-sources": NO_RESPONSE_DATA} for phase in DRAWN_PHASES},
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES},
                # replaced by negative_data_rejected_unless_blank (same expected statuses)
                "negative_data_rejection": {"enabled": False},
            },
            "operations": [{"include-path": path, "checks": content_checks} for path in uploads],
        }
    )


@dataclass
class ContractRun:
    """What one schemathesis run saw."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    phases: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_contract(schema: Any) -> ContractRun:
    """Run every phase; collect cases, answers, failed checks and engine errors."""
    run = ContractRun()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            run.phases.add(str(event.phase))
            recorder = event.recorder
            run.cases += len(recorder.cases)
            run.statuses.update(
                i.response.status_code
                for i in recorder.interactions.values()
                if i.response is not None
            )
            for case_id, checks in recorder.checks.items():
                case = recorder.cases[case_id].value
                run.failures += [
                    f"{c.name}: {case.method} {case.formatted_path}: "
                    f"{c.failure_info.failure.message}\n  {c.failure_info.code_sample}"
                    for c in checks
                    if c.status == Status.FAILURE and c.failure_info is not None
                ]
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            run.errors.append(repr(event.exception))
        elif isinstance(event, events.EngineFinished):
            run.failures += [f"{f.title}: {f.message}" for f in event.failures]
    return run


@pytest.fixture(scope="module")
def liveness_address(
    model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with running_liveness(model_store, tmp_path_factory.mktemp("liveness")) as server:
        yield server.address


@pytest.fixture
def gateway_app(
    tmp_path: Path,
    detection_address: str,
    embedding_address: str,
    attributes_address: str,
    liveness_address: str,
) -> Iterator[tuple[FastAPI, str]]:
    """The gateway on every service and a key of its own tenant; its lifespan runs in
    schemathesis' ASGI client and is shut down afterwards."""
    settings, key = gateway_settings(
        tmp_path / "gateway",
        tenant="contract",  # its own galleries in the session's embedding service
        detection=detection_address,
        embedding=embedding_address,
        attributes=attributes_address,
        liveness=liveness_address,
        rate_limit_per_minute=0,
        # No fail-fast health watch: on a loaded machine a late health answer would turn
        # requests into 503 (tests/gateway/test_fail_fast.py covers that behaviour).
        health_watch_interval_seconds=0,
    )
    yield create_app(settings), key
    shutdown_lifespans()


def test_the_gateway_keeps_its_openapi_contract(gateway_app: tuple[FastAPI, str]) -> None:
    app, key = gateway_app
    uploads = upload_paths(app.openapi())
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=contract_config(key, uploads)
    )
    run = run_contract(schema)
    print(
        f"\ncontract: {run.cases} cases, phases {sorted(run.phases)}, "
        f"statuses {sorted(run.statuses.items())}"
    )
    assert not run.errors, "\n".join(run.errors)
    assert not run.failures, "\n\n".join(run.failures)
    assert not [status for status in run.statuses if status >= 500]
    assert {"examples", "coverage", "fuzzing", "stateful"} <= run.phases
