"""The Files and Batches endpoints of the fake LLM server."""

from __future__ import annotations

import email
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.servers.answers import completion_body, record_call, successful_content

if TYPE_CHECKING:
    from tests.servers.llm import FakeLLM


@dataclass
class FakeBatches:
    """The Files and Batches endpoints: a batch runs when created and ends `polls` later.

    `final_status` is how batches end ("completed", or "expired" which keeps the output of
    only the first `expired_after` lines). Line outcomes come from the FakeLLM's script.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: int = 1
    final_status: str = "completed"
    expired_after: int = 0
    uploads: int = 0

    def upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        part = next(
            p for p in message.walk() if p.get_param("name", header="content-disposition") == "file"
        )
        self.uploads += 1
        file_id = f"file-{self.uploads}"
        self.files[file_id] = bytes(part.get_payload(decode=True))
        return {"id": file_id, "object": "file", "bytes": len(self.files[file_id]),
                "created_at": int(time.time()), "filename": "batch.jsonl", "purpose": "batch",
                "status": "processed"}  # fmt: skip

    def create(self, params: dict[str, Any], llm: FakeLLM) -> dict[str, Any]:
        lines = [json.loads(line) for line in self.files[params["input_file_id"]].splitlines()]
        kept = lines if self.final_status == "completed" else lines[: self.expired_after]
        output = [self._answer(line, llm) for line in kept]
        batch_id = f"batch-{len(self.batches) + 1}"
        output_id = f"file-out-{batch_id}"
        self.files[output_id] = "\n".join(json.dumps(o) for o in output).encode()
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": params["endpoint"],
            "completion_window": params["completion_window"], "created_at": int(time.time()),
            "input_file_id": params["input_file_id"], "status": "in_progress",
            "output_file_id": output_id, "polls_left": self.polls,
        }  # fmt: skip
        return self.retrieve(batch_id, poll=False)

    def retrieve(self, batch_id: str, poll: bool = True) -> dict[str, Any]:
        batch = self.batches[batch_id]
        if poll and batch["status"] == "in_progress":
            batch["polls_left"] -= 1
            if batch["polls_left"] < 0:
                batch["status"] = self.final_status
        return {k: v for k, v in batch.items() if k != "polls_left"}

    @staticmethod
    def _answer(line: dict[str, Any], llm: FakeLLM) -> dict[str, Any]:
        request, outcome = record_call(llm, line["body"], via_batch=True)
        if outcome in ("500", "429", "400", "timeout"):
            status = 500 if outcome == "timeout" else int(outcome)
            response = {"status_code": status, "body": {"error": {"message": outcome}}}
        else:
            content, finish = successful_content(request, outcome)
            body = completion_body(line["body"]["model"], content, finish)
            response = {"status_code": 200, "body": body}
        return {"id": f"req-{line['custom_id']}", "custom_id": line["custom_id"],
                "response": response, "error": None}  # fmt: skip
